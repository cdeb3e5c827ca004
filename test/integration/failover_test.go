package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
)

// Two instances share a database and a data directory. One is SIGKILLed with batches running
// and more waiting in its launch queue; the other adopts them once the lease expires, tracks
// the running ones to their end and launches the queued ones, each exactly once.
func TestFailoverAdoptsRunningAndQueuedBatches(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	data := t.TempDir()
	markers := t.TempDir()
	env := []string{"STUB_START_DELAY=0.5", "STUB_SLEEP=2"}
	opts := func(id string) serverOpts {
		return serverOpts{store: db, dataDir: data, sparkHome: testdata(t, "stubspark"), env: env,
			args: []string{"--instance-id", id, "--lease", "2s", "--max-concurrent-launches", "1"}}
	}
	a := startServer(t, opts("a"))
	b := startServer(t, opts("b"))
	const n = 6
	for i := range n {
		a.createBatch(fmt.Sprintf(`{"file":"%s","args":["%s","m%d"]}`, testdata(t, "jobs/marker.py"), markers, i))
	}
	a.waitState(0, 30*time.Second, "running")
	a.kill()
	killed := time.Now()
	waitFor(t, 30*time.Second, "b to adopt a's batches", func() bool { return strings.Contains(b.output(), "adopted batches") })
	t.Logf("failover: b adopted a's batches %.1fs after the SIGKILL (lease 2s)", time.Since(killed).Seconds())
	for i := range n {
		if got := b.waitState(i, time.Minute, "success", "dead"); got != "success" {
			t.Errorf("batch %d ended %s", i, got)
		}
	}
	t.Logf("all %d batches finished %.1fs after the SIGKILL", n, time.Since(killed).Seconds())
	for i := range n {
		m, _ := os.ReadFile(filepath.Join(markers, fmt.Sprintf("m%d", i)))
		if c := strings.Count(string(m), "ran "); c != 1 {
			t.Errorf("batch %d ran %d times, want once", i, c)
		}
	}
}
