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
	waitFor(t, 30*time.Second, "b to adopt a's batches", func() bool { return adoptionsIn(b.output(), "batch") > 0 })
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

// An instance with a data directory of its own cannot see another's local applications, so it
// must not adopt them: adopting would launch a running application again. The batch waits for
// its own instance, which re-attaches to it on restart.
func TestNoAdoptionAcrossDataDirectories(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	markers := t.TempDir()
	opts := func(id string) serverOpts {
		return serverOpts{store: db, sparkHome: testdata(t, "stubspark"), env: []string{"STUB_SLEEP=3"},
			args: []string{"--instance-id", id, "--lease", "1s"}}
	}
	a := startServer(t, opts("a"))
	b := startServer(t, opts("b")) // its own temporary data directory
	id := a.createBatch(fmt.Sprintf(`{"file":"%s","args":["%s","m"]}`, testdata(t, "jobs/marker.py"), markers))
	a.waitState(id, 30*time.Second, "running")
	a.kill()
	killed := time.Now()
	passes := strings.Count(b.output(), "adoption pass")
	// Wait for b's adoption passes to go well past a's lease (1 s, passes every 1/3 s).
	waitFor(t, 30*time.Second, "b to look for orphans after a's lease expired", func() bool {
		return time.Since(killed) > 2*time.Second && strings.Count(b.output(), "adoption pass") >= passes+6
	})
	if adoptionsIn(b.output(), "batch") > 0 {
		t.Fatalf("b adopted a batch whose application it cannot see")
	}
	a.start()
	if got := b.waitState(id, 30*time.Second, "success", "dead"); got != "success" {
		t.Fatalf("batch ended %s", got)
	}
	m, _ := os.ReadFile(filepath.Join(markers, "m"))
	if c := strings.Count(string(m), "ran "); c != 1 {
		t.Errorf("ran %d times, want once", c)
	}
}
