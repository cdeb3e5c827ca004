package api

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/interactive"
)

// Deadlines of a request, by route: a client that trickles its body or reads its answer a
// byte a minute holds a connection only this long. A long poll answers within the poll's
// wait; an upload may take long to send.
const (
	readDeadline       = time.Minute
	writeDeadline      = 2 * time.Minute
	uploadReadDeadline = 30 * time.Minute
	pollWriteDeadline  = 2 * time.Minute // past interactive's poll wait
)

// maxHeaderBytes bounds a request's header block; larger ones get Livy's JSON 431 (a block
// past the server's own bound, 1 MiB, gets Go's plain one before any handler runs).
const maxHeaderBytes = 64 << 10

// setDeadlines gives r's connection the deadlines of its route.
func setDeadlines(w http.ResponseWriter, pattern string, upload bool) {
	read, write := readDeadline, writeDeadline
	switch {
	case upload:
		read = uploadReadDeadline
	case pattern == interactive.RouteNext:
		write = pollWriteDeadline
	}
	rc := http.NewResponseController(w)
	now := time.Now()
	_ = rc.SetReadDeadline(now.Add(read)) // a recorder in tests has none
	_ = rc.SetWriteDeadline(now.Add(write))
}

// headerBytes is the size of r's header block, about as the client sent it.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// inflight bounds the requests one user has under way at once (an anonymous client is
// counted by its address): one client cannot take every goroutine and store connection.
type inflight struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func newInflight(max int) *inflight { return &inflight{max: max, n: map[string]int{}} }

// acquire takes a slot of the caller of r, or says why not; release gives it back.
func (f *inflight) acquire(r *http.Request, id auth.Identity) (release func(), err error) {
	if f.max <= 0 {
		return func() {}, nil
	}
	key := "user:" + id.User
	if id.Anonymous() {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		key = "address:" + host
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key] >= f.max {
		return nil, errkind.New(errkind.TooManyRequests, "%d requests of yours are under way; wait for one to finish", f.max)
	}
	f.n[key]++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.n[key]--; f.n[key] == 0 {
			delete(f.n, key)
		}
	}, nil
}
