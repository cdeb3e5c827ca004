package integration

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
)

// trickle is a request body that arrives slowly: the request is under way, its body half
// sent, when the server is told to stop.
type trickle struct {
	body []byte
	sent int
}

func (t *trickle) Read(p []byte) (int, error) {
	if t.sent == len(t.body) {
		return 0, io.EOF
	}
	time.Sleep(100 * time.Millisecond) // a tenth of the body every 100 ms
	n := copy(p[:min(len(p), len(t.body)/10+1)], t.body[t.sent:])
	t.sent += n
	return n, nil
}

// SIGTERM under load, behind a load balancer that follows /readyz: no request is lost — the
// requests under way are all answered (creates whose body was still arriving among them, each
// created once), /readyz goes 503 at once while requests are still served for
// --shutdown-drain, so the balancer moves the load to the peer before the door closes; a new
// create meanwhile is refused with a 503 to retry elsewhere — the instance gives up its
// lease, and its peer takes its running batches over at once.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	data := t.TempDir()
	opts := func(id string) serverOpts {
		return serverOpts{store: db, dataDir: data, sparkHome: testdata(t, "stubspark"), env: []string{"STUB_SLEEP=30"},
			args: []string{"--instance-id", id, "--shutdown-drain", "1s"}} // the default lease, 15 s: no expiry helps the handover
	}
	a, b := startServer(t, opts("a")), startServer(t, opts("b"))
	sleeper := fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/sleep.py"))
	for range 2 {
		a.createBatch(sleeper)
	}
	a.waitState(1, 30*time.Second, "running")

	var slow sync.WaitGroup
	slowStatus := make([]int, 8)
	for i := range slowStatus {
		slow.Go(func() {
			body := fmt.Sprintf(`{"file":%q,"name":"slow-%d"}`, testdata(t, "jobs/ok.py"), i)
			req, _ := http.NewRequest("POST", a.url("/batches"), &trickle{body: []byte(body)})
			req.ContentLength = int64(len(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
			if err != nil {
				t.Errorf("slow create %d, under way at SIGTERM: %v", i, err)
				return
			}
			resp.Body.Close()
			slowStatus[i] = resp.StatusCode
		})
	}
	// the load balancer: it asks each instance's /readyz every 100 ms and sends each request
	// to a ready one, as a Kubernetes Service or an HAProxy with health checks does
	var aReady atomic.Bool
	aReady.Store(true)
	stopLoad := make(chan struct{})
	var load sync.WaitGroup
	load.Go(func() {
		c := &http.Client{Timeout: time.Second}
		for {
			select {
			case <-stopLoad:
				return
			case <-time.After(100 * time.Millisecond):
			}
			resp, err := c.Get(a.url("/readyz"))
			aReady.Store(err == nil && resp.StatusCode == 200)
			if err == nil {
				resp.Body.Close()
			}
		}
	})
	var answered, failed, toB atomic.Int32
	for range 8 {
		load.Go(func() {
			c := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				target := a
				if !aReady.Load() {
					target = b
					toB.Add(1)
				}
				resp, err := c.Get(target.url("/batches/0"))
				switch {
				case err != nil:
					failed.Add(1)
					t.Logf("a request during the shutdown failed: %v", err)
				case resp.StatusCode != 200:
					resp.Body.Close()
					failed.Add(1)
					t.Logf("a request during the shutdown got %d", resp.StatusCode)
				default:
					resp.Body.Close()
					answered.Add(1)
				}
			}
		})
	}
	time.Sleep(400 * time.Millisecond) // the slow bodies are under way
	// a create that reaches a once it drains is refused, for a retry elsewhere
	var drainedCreate *http.Response
	load.Go(func() {
		for aReady.Load() {
			time.Sleep(20 * time.Millisecond)
		}
		resp, err := http.Post(a.url("/batches"), "application/json", strings.NewReader(fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/ok.py"))))
		if err != nil {
			t.Errorf("a create while a drains: %v", err)
			return
		}
		resp.Body.Close()
		drainedCreate = resp
	})
	took, code := a.stopTimed()
	exited := time.Now()
	slow.Wait()
	time.Sleep(200 * time.Millisecond)
	close(stopLoad)
	load.Wait()
	t.Logf("SIGTERM to exit: %v (exit %d, drain 1 s); meanwhile %d requests answered (%d sent to b once a was not ready), %d failed",
		took.Round(time.Millisecond), code, answered.Load(), toB.Load(), failed.Load())
	if code != 0 || failed.Load() != 0 || toB.Load() == 0 {
		t.Errorf("exit %d, %d failed requests, %d sent to b", code, failed.Load(), toB.Load())
	}
	if drainedCreate == nil || drainedCreate.StatusCode != 503 || drainedCreate.Header.Get("Retry-After") == "" {
		t.Errorf("a create while a drains: %+v, want 503 with Retry-After", drainedCreate)
	}
	for i, status := range slowStatus {
		if status != 201 {
			t.Errorf("slow create %d: %d, want 201", i, status)
		}
	}

	waitFor(t, 10*time.Second, "b to take a's batches over", func() bool { return adoptionsIn(b.output(), "batch") > 0 })
	handover := time.Since(exited)
	t.Logf("handover: b adopted a's batches %v after a exited (lease 15 s, given up at exit)", handover.Round(time.Millisecond))
	if handover > 3*time.Second {
		t.Errorf("b adopted a's batches %v after a exited; a gave its lease up, so within about a second", handover)
	}
	if r := b.do("GET", "/batches?size=100", ""); r.status != 200 || r.json(t)["total"].(float64) != 10 {
		t.Errorf("b lists %v batches, want the 2 running and the 8 slow creates, each once: %s", r.json(t)["total"], r.body)
	}
}
