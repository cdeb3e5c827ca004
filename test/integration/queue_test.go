package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A burst of creates is answered at once and launched at most N at a time; a server killed
// with the queue full loses none of them and launches none twice.
func TestQueuedLaunchesSurviveServerKill(t *testing.T) {
	t.Parallel()
	markers := t.TempDir()
	s := startServer(t, serverOpts{
		sparkHome: testdata(t, "stubspark"),
		args:      []string{"--max-concurrent-launches", "2"},
		env:       []string{"STUB_MARKER_DIR=" + markers, "STUB_SLEEP=0.3"},
	})
	const n = 30
	job := testdata(t, "jobs/sleep.py")
	for range n {
		s.createBatch(`{"file":"` + job + `"}`)
	}
	// Kill while most of the burst still waits in the queue.
	s.kill()
	s.start()
	for id := range n {
		if got := s.waitState(id, time.Minute, "success", "dead"); got != "success" {
			t.Errorf("batch %d ended %s", id, got)
		}
	}
	files, _ := filepath.Glob(filepath.Join(markers, "*"))
	if len(files) != n {
		t.Errorf("%d applications ran, want %d", len(files), n)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if c := strings.Count(string(b), "\n"); c != 1 {
			t.Errorf("%s ran %d times, want once", filepath.Base(f), c)
		}
	}
	list := s.do("GET", fmt.Sprintf("/batches?size=%d", n+10), "").json(t)
	if list["total"].(float64) != n {
		t.Errorf("total = %v, want %d", list["total"], n)
	}
}
