package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

// What reaches a route from a browser on another site, by DNS rebinding, or as a body that is
// not JSON; and what the clients of today send, which passes.
func TestTheEdge(t *testing.T) {
	loopback := newEdge(Config{LoopbackOnly: true, AllowedHosts: []string{"gateway.example"}})
	open := newEdge(Config{})
	json := requireJSON(func(*http.Request) (*reply, error) { return ok(nil) })
	cases := []struct {
		name    string
		e       *edge
		method  string
		host    string
		headers map[string]string
		body    string
		want    errkind.Kind // 0: served
	}{
		{"curl with JSON", loopback, "POST", "127.0.0.1:8998", map[string]string{"Content-Type": "application/json"}, `{}`, 0},
		{"JSON with a charset", loopback, "POST", "localhost:8998", map[string]string{"Content-Type": "application/json; charset=utf-8"}, `{}`, 0},
		{"curl -d", loopback, "POST", "[::1]:8998", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, `{}`, 0},
		{"no Content-Type", loopback, "POST", "127.0.0.1", nil, `{}`, 0},
		{"an allowed name", loopback, "GET", "Gateway.Example:8998", nil, "", 0},
		{"DNS rebinding", loopback, "GET", "evil.example:8998", nil, "", errkind.Forbidden},
		{"any name off loopback", open, "GET", "gw.internal:8998", nil, "", 0},
		{"a cross-site form", open, "POST", "gw:8998", map[string]string{"Content-Type": "application/x-www-form-urlencoded",
			"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, `{}`, errkind.Forbidden},
		{"a cross-site fetch", open, "POST", "gw:8998", map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, `{}`, errkind.Forbidden},
		{"a same-origin page", open, "POST", "gw:8998", map[string]string{"Content-Type": "application/json", "Origin": "http://gw:8998", "Sec-Fetch-Site": "same-origin"}, `{}`, 0},
		{"text/plain", open, "POST", "gw:8998", map[string]string{"Content-Type": "text/plain"}, `{}`, errkind.UnsupportedMediaType},
		{"a form from a browser", open, "POST", "gw:8998", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://gw:8998"}, `{}`, errkind.UnsupportedMediaType},
		{"multipart on a JSON route", open, "POST", "gw:8998", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, `{}`, errkind.UnsupportedMediaType},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "/batches", strings.NewReader(c.body))
		r.Host = c.host
		for k, v := range c.headers {
			r.Header.Set(k, v)
		}
		err := c.e.check(r)
		if err == nil {
			_, err = json(r)
		}
		if got := errkind.Of(err); (err == nil) != (c.want == 0) || (err != nil && got != c.want) {
			t.Errorf("%s: %v (kind %d), want kind %d", c.name, err, got, c.want)
		}
	}
}
