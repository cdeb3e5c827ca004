package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/client"
	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
)

// PostgreSQL restarts under load: the server answers 503 meanwhile (never a driver's message),
// recovers without a restart of its own, and every create the client retried ran once.
func TestPostgresRestartUnderLoad(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartCluster(t)
	markers := t.TempDir()
	s := startServer(t, serverOpts{store: pg.URL, sparkHome: testdata(t, "stubspark")})
	c := client.New(s.url(""), client.WithRetry(client.Retry{Initial: 20 * time.Millisecond, Max: 300 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 40
	var wg sync.WaitGroup
	keys := make([]string, n)
	ids := make([]int64, n)
	for i := range n {
		keys[i] = client.NewRequestID()
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 25 * time.Millisecond) // spread over a second
			b, _, err := c.CreateBatchWithRequestID(ctx, keys[i], &client.CreateBatchRequest{
				File: testdata(t, "jobs/marker.py"), Args: []client.String{client.String(markers), client.String(keys[i])}})
			if err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			ids[i] = b.ID
		})
	}
	time.Sleep(300 * time.Millisecond)
	pg.Restart()
	wg.Wait()
	// Ids are unique but not dense here: a crashed PostgreSQL skips ahead in its sequences.
	for _, id := range ids {
		if got := s.waitState(int(id), time.Minute, "success", "dead"); got != "success" {
			t.Errorf("batch %d ended %s", id, got)
		}
	}
	// Requests during the outage got 503 with Retry-After, never a 500.
	if out := s.output(); strings.Contains(out, `msg="request failed"`) {
		t.Errorf("some request failed with 500 during the outage")
	}
	for _, k := range keys {
		b, _ := os.ReadFile(filepath.Join(markers, k))
		if c := strings.Count(string(b), "ran "); c != 1 {
			t.Errorf("request %s ran %d times, want once", k, c)
		}
	}
}
