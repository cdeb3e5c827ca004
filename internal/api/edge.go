package api

import (
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

// edge checks what every request must pass before its credentials are looked at: the Host it
// names (a DNS-rebinding page makes a browser send its own name to a loopback server), and
// that a browser did not send it from another site (CSRF: a page anywhere could otherwise make
// a visitor's browser create a batch with the visitor's cookies or network position).
type edge struct {
	origins *http.CrossOriginProtection
	// hosts are the names a request may address; nil: any. A server on loopback answers
	// loopback names only (and AllowedHosts).
	hosts []string
}

func newEdge(cfg Config) *edge {
	e := &edge{origins: http.NewCrossOriginProtection()}
	if cfg.LoopbackOnly || len(cfg.AllowedHosts) > 0 {
		e.hosts = append([]string{"localhost"}, cfg.AllowedHosts...)
	}
	return e
}

func (e *edge) check(r *http.Request) error {
	if !e.hostAllowed(r.Host) {
		return errkind.New(errkind.Forbidden, "Host %q is not a name of this server (--allowed-hosts)", r.Host)
	}
	if err := e.origins.Check(r); err != nil {
		return errkind.Wrap(errkind.Forbidden, err, "cross-origin request refused: a page of another site may not change anything here")
	}
	return nil
}

func (e *edge) hostAllowed(hostPort string) bool {
	if e.hosts == nil {
		return true
	}
	host := hostPort
	if h, _, err := net.SplitHostPort(hostPort); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	return slices.Contains(e.hosts, host)
}

// requireJSON refuses a body whose type says it is not JSON: text/plain and forms are what a
// page of another site can send without the browser asking first, and what a JSON route never
// reads. Two kinds pass for the clients that send them today: no Content-Type at all, and
// curl -d's application/x-www-form-urlencoded from a client that is no browser (it sends no
// Origin and no Sec-Fetch-Site, which every browser puts on a POST).
func requireJSON(h handler) handler {
	return func(r *http.Request) (*reply, error) {
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			if ct := r.Header.Get("Content-Type"); !jsonOrTool(ct, r.Header) {
				return nil, errkind.New(errkind.UnsupportedMediaType, "a request body here is JSON: send it with Content-Type: application/json (got %q)", ct)
			}
		}
		return h(r)
	}
}

func jsonOrTool(contentType string, h http.Header) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil:
		return false
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return true
	}
	return mt == "application/x-www-form-urlencoded" && h.Get("Origin") == "" && h.Get("Sec-Fetch-Site") == ""
}
