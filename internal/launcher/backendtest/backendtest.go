// Package backendtest is the conformance suite of launcher.Backend: what the session managers
// rely on of every cluster backend, run by each implementation on a real cluster manager (the
// local one with a stand-in spark-submit in its unit tests; YARN and Spark standalone in the
// integration tests, with real Spark).
package backendtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// Harness is a backend under test and the programs the suite runs on it.
type Harness struct {
	// Backend returns a backend on the cluster under test. Every call returns a new one over
	// the same applications, as a restarted gateway makes.
	Backend func(t *testing.T) launcher.Backend
	// Marker is a program that appends one line to dir/name and succeeds; Failing one that
	// fails; Lasting one that runs until it is killed (or for minutes).
	Marker  func(dir, name string) *launcher.Spec
	Failing func() *launcher.Spec
	Lasting func() *launcher.Spec
	// Timeout bounds one application's run.
	Timeout time.Duration
	// IDPrefix, when not empty, is how the cluster manager's application ids begin; the
	// backend must tell the id of a running application.
	IDPrefix string
}

// Run runs the suite; its subtests run in parallel, one application each.
func Run(t *testing.T, h Harness) {
	t.Run("UnknownTagIsNotStarted", func(t *testing.T) {
		t.Parallel()
		app, err := h.Backend(t).Inspect(context.Background(), launcher.NewTag("batch", 0))
		if err != nil || app.Status != supervisor.NotStarted {
			t.Errorf("Inspect of a tag never launched = %+v, %v; want not started (so launching is safe)", app, err)
		}
	})
	t.Run("SuccessIsToldOnceForTwoStarts", func(t *testing.T) {
		t.Parallel()
		b, dir, tag := h.Backend(t), t.TempDir(), launcher.NewTag("batch", 1)
		argv := command(t, b, h.Marker(dir, "runs"), tag)
		// two starts of one tag (a retried launch, a restarted gateway): one application
		for range 2 {
			if _, err := b.Start(context.Background(), tag, argv); err != nil {
				t.Fatal(err)
			}
		}
		app := h.await(t, b, tag, func(a launcher.App) bool { return a.Status == supervisor.Finished })
		if app.End == nil || app.End.Outcome != launcher.Succeeded {
			t.Fatalf("end %+v, want success; log:\n%s", app.End, logOf(b, tag))
		}
		if runs, _ := os.ReadFile(filepath.Join(dir, "runs")); strings.Count(string(runs), "\n") != 1 {
			t.Errorf("the program ran %d times for two starts of one tag", strings.Count(string(runs), "\n"))
		}
		if h.IDPrefix != "" && !strings.HasPrefix(app.ID, h.IDPrefix) {
			t.Errorf("id %q of an ended application, want %s…", app.ID, h.IDPrefix)
		}
		again, err := h.Backend(t).Inspect(context.Background(), tag)
		if err != nil || again.Status != supervisor.Finished || again.End.Outcome != launcher.Succeeded {
			t.Errorf("a new backend (a restarted gateway) sees %+v, %v; want the same success", again, err)
		}
	})
	t.Run("FailureIsToldWithAReason", func(t *testing.T) {
		t.Parallel()
		b, tag := h.Backend(t), launcher.NewTag("batch", 2)
		if _, err := b.Start(context.Background(), tag, command(t, b, h.Failing(), tag)); err != nil {
			t.Fatal(err)
		}
		app := h.await(t, b, tag, func(a launcher.App) bool { return a.Status == supervisor.Finished })
		if app.End == nil || app.End.Outcome != launcher.Failed || app.End.Reason == "" {
			t.Errorf("end %+v, want a failure with its reason", app.End)
		}
	})
	t.Run("AKillEndsARunningApplication", func(t *testing.T) {
		t.Parallel()
		b, tag := h.Backend(t), launcher.NewTag("batch", 3)
		_, err := b.Start(context.Background(), tag, command(t, b, h.Lasting(), tag))
		if err != nil {
			t.Fatal(err)
		}
		running := h.await(t, b, tag, func(a launcher.App) bool {
			return a.Status == supervisor.Finished || a.Status == supervisor.Running && (h.IDPrefix == "" || a.ID != "")
		})
		if running.Status != supervisor.Running || !strings.HasPrefix(running.ID, h.IDPrefix) {
			t.Fatalf("before the kill: %+v; want running, with an id %s…", running, h.IDPrefix)
		}
		seen, err := h.Backend(t).Inspect(context.Background(), tag)
		if err != nil || seen.Status != supervisor.Running || seen.ID != running.ID {
			t.Errorf("a new backend sees %+v, %v; want the same running application", seen, err)
		}
		if sent, err := b.Kill(context.Background(), tag, false); err != nil || !sent {
			t.Fatalf("Kill = %v, %v", sent, err)
		}
		app := h.await(t, b, tag, func(a launcher.App) bool { return a.Status == supervisor.Finished })
		if app.End == nil || app.End.Outcome == launcher.Succeeded {
			t.Errorf("a killed application ended %+v", app.End)
		}
		if sent, err := b.Kill(context.Background(), tag, false); err != nil || sent {
			t.Errorf("Kill of an ended application = %v, %v; want nothing to kill", sent, err)
		}
	})
	t.Run("AKillRightAfterTheStartFromARestartedGatewayEndsIt", func(t *testing.T) {
		t.Parallel()
		b, tag := h.Backend(t), launcher.NewTag("batch", 4)
		if _, err := b.Start(context.Background(), tag, command(t, b, h.Lasting(), tag)); err != nil {
			t.Fatal(err)
		}
		// A DELETE on another instance, or after a restart, the moment the start returned:
		// the backend finds the application by its tag alone, whatever stage its start is at.
		// As the runner does, the kill is repeated (by force after the first) while the
		// application still runs: one handed to the cluster manager as spark-submit was killed
		// shows up there only then.
		other := h.Backend(t)
		if sent, err := other.Kill(context.Background(), tag, false); err != nil || !sent {
			t.Fatalf("Kill right after the start = %v, %v; want the application found", sent, err)
		}
		app := h.await(t, other, tag, func(a launcher.App) bool {
			if a.Status == supervisor.Running {
				other.Kill(context.Background(), tag, true)
			}
			return a.Status == supervisor.Finished
		})
		if app.End == nil || app.End.Outcome == launcher.Succeeded {
			t.Errorf("an application killed right after its start ended %+v", app.End)
		}
	})
}

func command(t *testing.T, b launcher.Backend, spec *launcher.Spec, tag string) []string {
	t.Helper()
	argv, err := b.Command(spec, tag)
	if err != nil {
		t.Fatal(err)
	}
	return argv
}

// await inspects the application until done says so, and returns what it saw last.
func (h Harness) await(t *testing.T, b launcher.Backend, tag string, done func(launcher.App) bool) launcher.App {
	t.Helper()
	deadline := time.Now().Add(h.Timeout)
	for {
		app, err := b.Inspect(context.Background(), tag)
		if err == nil && done(app) {
			return app
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the application is %+v (%v); log:\n%s", h.Timeout, app, err, logOf(b, tag))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func logOf(b launcher.Backend, tag string) string {
	content, _ := os.ReadFile(b.LogPath(tag))
	if len(content) > 4000 {
		content = content[len(content)-4000:]
	}
	return string(content)
}
