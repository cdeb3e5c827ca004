package api

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/store"
)

// forwardedHeader marks a request one instance forwarded to another: it is served where it
// lands, never forwarded again.
const forwardedHeader = "X-Sparkgate-Forwarded"

// toDriver serves a request that needs the session's driver at once (calls wait in the memory
// of one instance): here when the driver polls this instance, else forwarded to the live
// instance it polls.
func (s *Server) toDriver(h sessionHandler) sessionHandler {
	return func(r *http.Request, sess *store.Session) (*reply, error) {
		if r.Header.Get(forwardedHeader) == "" {
			addr, err := s.sessions.CallPeer(r.Context(), sess)
			if err != nil {
				return nil, err
			}
			if addr != "" {
				return s.peers.forward(r, addr)
			}
		}
		return h(r, sess)
	}
}

// peers reach the other instances of the fleet: over TLS when this one serves TLS (the
// fleet's instances share their TLS settings), trusting what tlsConfig trusts.
type peers struct {
	scheme    string
	transport *http.Transport
}

// newPeers returns how to reach peers; tlsConfig nil means plain HTTP. A peer answers a
// call within its own call timeout (30 s); a peer that accepts the connection and then says
// nothing is given up on. No bound on the whole exchange: an upload's body may take long to
// stream.
func newPeers(tlsConfig *tls.Config) *peers {
	p := &peers{scheme: "http", transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: 45 * time.Second,
		IdleConnTimeout:       time.Minute,
		TLSClientConfig:       tlsConfig,
	}}
	if tlsConfig != nil {
		p.scheme = "https"
	}
	return p
}

// forwardedResponseHeaders are the peer's answer's headers passed on to the client; the rest
// (framing, connection management) belong to each hop.
var forwardedResponseHeaders = []string{"Content-Type", "Location", "Retry-After", "Allow"}

func (p *peers) forward(r *http.Request, addr string) (*reply, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.scheme+"://"+addr+r.URL.RequestURI(), r.Body)
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	req.Header.Set(forwardedHeader, "1")
	req.ContentLength = r.ContentLength
	resp, err := p.transport.RoundTrip(req)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "the instance that serves this session's driver (%s) did not answer", addr)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "the instance that serves this session's driver (%s) did not answer", addr)
	}
	rep := &reply{status: resp.StatusCode, header: http.Header{}}
	for _, h := range forwardedResponseHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			rep.header[h] = v
		}
	}
	if len(b) > 0 {
		rep.body = json.RawMessage(b)
	}
	return rep, nil
}
