package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A forwarded request reaches the peer marked, body and all, and the peer's status, body and
// meaningful headers come back.
func TestForwardPassesThePeersAnswerOn(t *testing.T) {
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(forwardedHeader) == "" || string(body) != `{"code":"sc.paralle"}` || r.URL.RequestURI() != "/sessions/3/completion?x=1" {
			t.Errorf("peer got %s %s %q, headers %v", r.Method, r.URL.RequestURI(), body, r.Header)
		}
		w.Header().Set("Retry-After", "1")
		w.Header().Set("X-Internal", "no")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"msg":"busy"}`)
	}))
	defer peer.Close()
	r := httptest.NewRequest("POST", "/sessions/3/completion?x=1", strings.NewReader(`{"code":"sc.paralle"}`))
	rep, err := newPeers(nil).forward(r, strings.TrimPrefix(peer.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.status != 503 || string(rep.body.(json.RawMessage)) != `{"msg":"busy"}` {
		t.Errorf("forwarded answer = %d %s", rep.status, rep.body)
	}
	if rep.header.Get("Retry-After") != "1" || rep.header.Get("X-Internal") != "" {
		t.Errorf("forwarded headers = %v, want Retry-After and not X-Internal", rep.header)
	}
}
