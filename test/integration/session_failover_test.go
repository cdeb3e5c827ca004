package integration

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
)

// failoverProxy is the load balancer in front of several instances: it sends each request to
// the current backend and moves on to the next when that one does not answer.
type failoverProxy struct {
	mu       sync.Mutex
	backends []string
	current  int
}

func (p *failoverProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	for range len(p.backends) {
		p.mu.Lock()
		backend := p.backends[p.current]
		p.mu.Unlock()
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+backend+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			p.mu.Lock()
			if p.backends[p.current] == backend {
				p.current = (p.current + 1) % len(p.backends)
			}
			p.mu.Unlock()
			continue
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no backend answers", http.StatusBadGateway)
}

// Two instances share a database and a data directory behind a load balancer, which is the
// drivers' --driver-url. A statement sent through either instance reaches the driver; when
// the session's instance is SIGKILLed, the driver's poll fails over to the other, which adopts
// the session: same session, variables kept, and its DELETE ends the driver.
func TestInteractiveSessionFailsOverToAPeer(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	db := pgtest.URL(t)
	data := t.TempDir()
	addrA, addrB := freeAddr(t), freeAddr(t)
	lb := &failoverProxy{backends: []string{addrA, addrB}}
	front := httptest.NewServer(lb)
	defer front.Close()
	opts := func(id, addr string) serverOpts {
		return serverOpts{store: db, dataDir: data, sparkHome: home, addr: addr,
			args: []string{"--instance-id", id, "--lease", "2s", "--driver-url", front.URL}}
	}
	a := startServer(t, opts("a", addrA))
	b := startServer(t, opts("b", addrB))

	if r := a.do("POST", "/sessions", `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`); r.status != 201 {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	waitFor(t, sparkTimeout, "the session to be idle", func() bool { return b.sessionState(0) == "idle" })
	// The driver polls a; a statement stored through b reaches it all the same.
	if got := textOf(t, b.runStatement(0, `{"code":"x = 21\nx"}`)); got != "21" {
		t.Errorf("statement through the other instance = %q", got)
	}

	// A completion waits for the driver in the memory of one instance: b forwards it to a,
	// which the driver polls.
	r := b.do("POST", "/sessions/0/completion", `{"code":"sc.paralle","cursor":10}`)
	if !strings.Contains(string(r.body), "sc.parallelize") {
		t.Errorf("completion through the instance the driver does not poll = %d %s", r.status, r.body)
	}

	a.kill()
	killed := time.Now()
	waitFor(t, 30*time.Second, "b to adopt a's session", func() bool {
		return adoptionsIn(b.output(), "session") > 0
	})
	t.Logf("failover: b adopted the session %.1fs after the SIGKILL (lease 2s)", time.Since(killed).Seconds())
	if st := b.sessionState(0); st != "idle" {
		t.Errorf("after failover the session is %s, want idle", st)
	}
	if got := textOf(t, b.runStatement(0, `{"code":"x * 2"}`)); got != "42" {
		t.Errorf("after failover x * 2 = %q, want 42", got)
	}
	t.Logf("first statement after the SIGKILL answered %.1fs after it", time.Since(killed).Seconds())

	dirs := appDirOf(t, b, "session", 0)
	if r := b.do("DELETE", "/sessions/0", ""); r.status != 200 {
		t.Fatalf("DELETE through b = %d %s", r.status, r.body)
	}
	waitFor(t, 30*time.Second, "the driver's processes to end", func() bool { return len(processesWithTag(dirs)) == 0 })
}
