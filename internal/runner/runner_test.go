package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/lifecycle"
	"github.com/sparkgate/sparkgate/internal/runner"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

func newRunner(t *testing.T, fl *launchertest.Fake, grace time.Duration) *runner.Runner {
	t.Helper()
	var group lifecycle.Group
	group.Start(context.Background())
	t.Cleanup(group.Stop)
	return runner.New(&group, fl, launcher.Limits{KillGrace: grace}.WithDefaults(), slog.New(slog.DiscardHandler))
}

// What the record says once the application started decides whether it keeps running.
func TestStartKillsWhatTheRecordNoLongerWants(t *testing.T) {
	cases := []struct {
		name       string
		wanted     bool
		err        error
		wantKilled bool
	}{
		{"still wanted", true, nil, false},
		{"deleted meanwhile", false, nil, true},
		// an unreadable record leaves it running: the caller follows it, a later DELETE kills it
		{"record unreadable", false, errors.New("store down"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fl := launchertest.New(t.TempDir())
			r := newRunner(t, fl, time.Minute)
			asked := false
			pid, kept, err := r.Start(context.Background(), "tag", []string{"spark-submit"}, nil, func(context.Context) (bool, error) {
				asked = len(fl.Starts("tag")) == 1 // asked after the start, never before
				return c.wanted, c.err
			})
			if err != nil || pid == 0 || !asked {
				t.Fatalf("Start = %d, %v (record read after the start: %v)", pid, err, asked)
			}
			if kept == c.wantKilled || (fl.Kills("tag") > 0) != c.wantKilled {
				t.Errorf("kept %v, kills %d; want killed %v", kept, fl.Kills("tag"), c.wantKilled)
			}
		})
	}
}

// A kill is SIGTERM first; SIGKILL follows only for an application still running after the
// grace.
func TestKillEscalatesOnlyWhatKeepsRunning(t *testing.T) {
	for _, ends := range []bool{true, false} {
		fl := launchertest.New(t.TempDir())
		fl.SetStatus("tag", supervisor.Running)
		r := newRunner(t, fl, 50*time.Millisecond)
		if sent, err := r.Kill("tag"); err != nil || !sent {
			t.Fatalf("Kill = %v, %v", sent, err)
		}
		if ends {
			fl.End("tag", &supervisor.Exit{Code: -1, Signal: "terminated"})
			time.Sleep(200 * time.Millisecond) // past the grace: no SIGKILL may follow
			if sigs := fl.Signals("tag"); !slices.Equal(sigs, []syscall.Signal{syscall.SIGTERM}) {
				t.Errorf("an application that ended on SIGTERM got %v", sigs)
			}
			continue
		}
		launchertest.Eventually(t, "SIGKILL", func() bool { return slices.Contains(fl.Signals("tag"), syscall.SIGKILL) })
	}
}

// Killing what does not run sends nothing more and says so.
func TestKillOfNothingRunning(t *testing.T) {
	fl := launchertest.New(t.TempDir())
	if sent, err := newRunner(t, fl, time.Minute).Kill("tag"); err != nil || sent {
		t.Fatalf("Kill = %v, %v; want nothing sent", sent, err)
	}
}
