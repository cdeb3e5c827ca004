package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// peakRSS is the most memory the server's process has held (VmHWM), in bytes.
func peakRSS(t *testing.T, s *server) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in %s", status)
	return 0
}

// A batch printing 20 million empty lines (20 MB of log) costs the server no memory in
// proportion to its lines: its launch, its view, the list and its pages read a sparse index
// and the log's end (issue 18: the server held 736 MB).
func TestALogOfManyEmptyLinesCostsTheServerLittleMemory(t *testing.T) {
	t.Parallel()
	const n = 20_000_000
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	before := peakRSS(t, s)
	id := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["%d"]}`, testdata(t, "jobs/newlines.py"), n))
	s.waitState(id, 2*time.Minute, "success")
	list := s.do("GET", "/batches", "")
	if list.status != 200 {
		t.Fatalf("list: %d %s", list.status, list.body)
	}
	view := s.do("GET", fmt.Sprintf("/batches/%d", id), "").json(t)
	if tail := view["log"].([]any); len(tail) != 10 || tail[9] != "stub application done" {
		t.Errorf("the view's log: %q", tail)
	}
	last := s.do("GET", fmt.Sprintf("/batches/%d/log?size=3", id), "").json(t)
	total := int(last["total"].(float64))
	if total < n || fmt.Sprint(last["log"]) != "[  stub application done]" {
		t.Errorf("the log's last page: total %d, %q", total, last["log"])
	}
	middle := s.do("GET", fmt.Sprintf("/batches/%d/log?from=%d&size=2", id, total/2), "").json(t)
	if fmt.Sprint(middle["log"]) != "[ ]" || int(middle["total"].(float64)) != total {
		t.Errorf("a page in the middle: %v", middle)
	}
	grown := peakRSS(t, s) - before
	t.Logf("the server's peak RSS grew by %d MiB (from %d MiB)", grown>>20, before>>20)
	if grown > 64<<20 {
		t.Errorf("a log of %d empty lines made the server's peak RSS grow by %d MiB, want under 64 MiB", n, grown>>20)
	}
}
