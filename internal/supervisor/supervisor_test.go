package supervisor_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// The test binary doubles as the sparkgate binary's supervise command.
func TestMain(m *testing.M) {
	switch os.Getenv("SUPERVISOR_TEST_ROLE") {
	case "detach":
		os.Setenv("SUPERVISOR_TEST_ROLE", "run")
		os.Exit(supervisor.Detach([]string{os.Args[0], "supervise"}, supervisor.Dir(os.Args[3]), os.Args[5:]))
	case "run":
		os.Exit(supervisor.Run(supervisor.Dir(os.Args[3]), os.Args[5:], nil))
	}
	os.Exit(m.Run())
}

func spawn(t *testing.T, d supervisor.Dir, argv ...string) int {
	t.Helper()
	pid, err := supervisor.Spawn(context.Background(), []string{os.Args[0], "supervise"}, d, "", argv,
		append(os.Environ(), "SUPERVISOR_TEST_ROLE=detach"))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func waitFinished(t *testing.T, d supervisor.Dir) *supervisor.Exit {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, exit, err := supervisor.Inspect(d)
		if err != nil {
			t.Fatal(err)
		}
		if st == supervisor.Finished {
			return exit
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not finish", d)
	return nil
}

func TestExitStatusIsRecorded(t *testing.T) {
	cases := []struct {
		script  string
		code    int
		success bool
	}{
		{"echo hello", 0, true},
		{"echo oops >&2; exit 3", 3, false},
	}
	for _, c := range cases {
		d := supervisor.Dir(filepath.Join(t.TempDir(), "app"))
		spawn(t, d, "sh", "-c", c.script)
		exit := waitFinished(t, d)
		if exit.Code != c.code || exit.Success() != c.success {
			t.Errorf("%q: exit %+v, want code %d", c.script, exit, c.code)
		}
		log, _ := os.ReadFile(d.LogPath())
		if !strings.Contains(string(log), strings.Fields(c.script)[1]) {
			t.Errorf("%q: log %q lacks the output", c.script, log)
		}
	}
}

func TestManySupervisorsRunTheCommandOnce(t *testing.T) {
	dir := t.TempDir()
	d := supervisor.Dir(filepath.Join(dir, "app"))
	marker := filepath.Join(dir, "marker")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { spawn(t, d, "sh", "-c", "echo ran >> "+marker+"; sleep 0.3") })
	}
	wg.Wait()
	waitFinished(t, d)
	spawn(t, d, "sh", "-c", "echo ran >> "+marker) // after it finished, too
	time.Sleep(200 * time.Millisecond)
	b, _ := os.ReadFile(marker)
	if n := strings.Count(string(b), "ran"); n != 1 {
		t.Fatalf("command ran %d times, want exactly 1", n)
	}
}

func TestSignalKillsTheWholeGroup(t *testing.T) {
	d := supervisor.Dir(filepath.Join(t.TempDir(), "app"))
	pid := spawn(t, d, "sh", "-c", "sleep 60 & wait")
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, _ := supervisor.Inspect(d)
		if st == supervisor.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never running")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sent, err := supervisor.Signal(d, syscall.SIGTERM)
	if err != nil || !sent {
		t.Fatalf("Signal = %v, %v", sent, err)
	}
	exit := waitFinished(t, d)
	if exit.Success() {
		t.Errorf("a killed application reads as success: %+v", exit)
	}
	// The supervisor itself exits just after recording the exit.
	for deadline := time.Now().Add(5 * time.Second); len(liveGroupMembers(pid)) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if live := liveGroupMembers(pid); len(live) > 0 {
		t.Errorf("process group %d still has live members: %v", pid, live)
	}
}

func TestInspectOfAnEmptyDirectory(t *testing.T) {
	st, _, err := supervisor.Inspect(supervisor.Dir(filepath.Join(t.TempDir(), "none")))
	if err != nil || st != supervisor.NotStarted {
		t.Fatalf("Inspect = %v, %v; want not-started", st, err)
	}
}

// liveGroupMembers lists the processes of group pgid that are not zombies (PID 1 of a
// container may never reap the supervisor, which is harmless).
func liveGroupMembers(pgid int) []string {
	var live []string
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(fields) > 2 && fields[2] == strconv.Itoa(pgid) && fields[0] != "Z" {
			live = append(live, s[:strings.LastIndexByte(s, ')')+1])
		}
	}
	return live
}

// An inspection holds the directory's lock for a moment: a supervisor starting at that moment
// must wait its turn, never give way, or its application would never start (and a session
// waiting for it would stay starting for ever).
func TestInspectionsNeverMakeALaunchGiveWay(t *testing.T) {
	const runs = 50
	lost := 0
	for range runs {
		d := supervisor.Dir(filepath.Join(t.TempDir(), "app"))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					supervisor.Inspect(d)
				}
			}
		})
		spawn(t, d, "true")
		finished := false
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if st, _, _ := supervisor.Inspect(d); st == supervisor.Finished {
				finished = true
				break
			}
		}
		close(stop)
		wg.Wait()
		if !finished {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d launches never ran while the directory was inspected", lost, runs)
	}
}

// Spawn returns once the supervisor holds the directory and has said who it is: whoever
// inspects or signals the application from then on (a DELETE right after the launch, on any
// instance) finds it running and reaches its process group, without knowing the pid.
func TestSpawnReturnsOnceTheApplicationCanBeSignalled(t *testing.T) {
	for i := range 10 {
		d := supervisor.Dir(filepath.Join(t.TempDir(), "app"))
		spawn(t, d, "sleep", "30")
		if st, _, err := supervisor.Inspect(d); err != nil || st != supervisor.Running {
			t.Fatalf("run %d: right after Spawn, Inspect = %v, %v; want running", i, st, err)
		}
		sent, err := supervisor.Signal(d, syscall.SIGKILL)
		if err != nil || !sent {
			t.Fatalf("run %d: Signal without the pid = %v, %v; want sent", i, sent, err)
		}
		if exit := waitFinished(t, d); exit.Success() {
			t.Fatalf("run %d: a killed application reads as success: %+v", i, exit)
		}
	}
}
