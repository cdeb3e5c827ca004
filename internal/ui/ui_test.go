package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Each page is its shell, naming its page and id for the script, under a policy that lets it
// run the embedded script only; the assets are served; an id that is none is not a page.
func TestPages(t *testing.T) {
	h, err := New()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	cases := []struct {
		path, want string
		status     int
	}{
		{"/", "", 302},
		{"/ui/", `data-page="list"`, 200},
		{"/ui/batches/7", `data-page="batch" data-id="7"`, 200},
		{"/ui/sessions/0", `data-page="session" data-id="0"`, 200},
		{"/ui/status", `data-page="status"`, 200},
		{"/ui/api", `data-page="api"`, 200},
		{"/ui/batches/-1", "", 404},
		{"/ui/sessions/x%22%3E", "", 404},
		{"/ui/static/app.js", "function api(", 200},
		{"/ui/static/app.css", "--accent", 200},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("GET %s: %d, want %d with %q", tc.path, rec.Code, tc.status, tc.want)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") && rec.Code == 200 &&
			!strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET %s: no content security policy", tc.path)
		}
	}
}
