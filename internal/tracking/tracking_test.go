package tracking

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/lifecycle"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

type fakeApps struct {
	mu   sync.Mutex
	apps map[string]launcher.App
}

func (f *fakeApps) set(tag string, st supervisor.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	app := f.apps[tag]
	app.Status = st
	f.apps[tag] = app
}

func (f *fakeApps) observe(tag, id, ui string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	app := f.apps[tag]
	app.ID, app.SparkUIURL = id, ui
	f.apps[tag] = app
}

func (f *fakeApps) Inspect(_ context.Context, tag string) (launcher.App, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	app := f.apps[tag]
	if app.Status == supervisor.Finished {
		app.End = &launcher.End{Outcome: launcher.Failed, ExitCode: 3}
	}
	return app, nil
}

func newFakeApps(running ...string) *fakeApps {
	f := &fakeApps{apps: map[string]launcher.App{}}
	for _, tag := range running {
		f.apps[tag] = launcher.App{Status: supervisor.Running}
	}
	return f
}

func waitDone(t *testing.T, h *Handle) {
	t.Helper()
	select {
	case <-h.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the handle never finished")
	}
}

func TestAHandleReportsTheEndOnceAndIsFollowedOnce(t *testing.T) {
	apps := newFakeApps("a")
	var group lifecycle.Group
	group.Start(context.Background())
	tr := New(&group, apps, time.Millisecond, slog.New(slog.DiscardHandler))
	var ended atomic.Int32
	var code atomic.Int32
	ev := Events{Ended: func(e *launcher.End) { ended.Add(1); code.Store(int32(e.ExitCode)) }}
	h := tr.Follow(1, "a", ev)
	if again := tr.Follow(1, "a", ev); again != h {
		t.Error("a second Follow of one session made a second handle")
	}
	if !tr.Following(1) {
		t.Error("not following a running application")
	}
	apps.set("a", supervisor.Finished)
	waitDone(t, h)
	if ended.Load() != 1 || code.Load() != 3 || tr.Following(1) {
		t.Errorf("ended %d times with code %d, still following %v", ended.Load(), code.Load(), tr.Following(1))
	}
}

func TestAnApplicationThatNeverStartsIsGivenUpAfterTheGrace(t *testing.T) {
	apps := newFakeApps()
	var group lifecycle.Group
	group.Start(context.Background())
	tr := New(&group, apps, time.Millisecond, slog.New(slog.DiscardHandler))
	var lost atomic.Bool
	h := tr.Follow(2, "b", Events{Ended: func(*launcher.End) { t.Error("ended") }, NeverStarted: func() { lost.Store(true) },
		StartGrace: 20 * time.Millisecond})
	waitDone(t, h)
	if !lost.Load() {
		t.Error("NeverStarted was not called")
	}
	// without NeverStarted, a handle waits for as long as it takes
	patient := tr.Follow(3, "c", Events{Ended: func(*launcher.End) {}})
	time.Sleep(50 * time.Millisecond)
	if !tr.Following(3) {
		t.Error("a handle without NeverStarted gave up")
	}
	apps.set("c", supervisor.Finished)
	waitDone(t, patient)
}

func TestHandlesStopWithTheirContext(t *testing.T) {
	apps := newFakeApps("d")
	var group lifecycle.Group
	group.Start(context.Background())
	tr := New(&group, apps, time.Millisecond, slog.New(slog.DiscardHandler))
	h := tr.Follow(4, "d", Events{Ended: func(*launcher.End) { t.Error("ended") }})
	group.Stop() // ends the handle's goroutine and waits for it
	waitDone(t, h)
}

func TestAHandleReportsEachNewIdAndLinkOnce(t *testing.T) {
	apps := newFakeApps("e")
	var group lifecycle.Group
	group.Start(context.Background())
	defer group.Stop()
	tr := New(&group, apps, time.Millisecond, slog.New(slog.DiscardHandler))
	seen := make(chan launcher.App, 10)
	h := tr.Follow(5, "e", Events{Ended: func(*launcher.End) {}, Observed: func(app launcher.App) { seen <- app }})
	next := func() launcher.App {
		t.Helper()
		select {
		case app := <-seen:
			return app
		case <-time.After(5 * time.Second):
			t.Fatal("nothing observed")
			return launcher.App{}
		}
	}
	apps.observe("e", "application_1_0001", "")
	if got := next(); got.ID != "application_1_0001" || got.SparkUIURL != "" {
		t.Errorf("first observation %+v", got)
	}
	apps.observe("e", "application_1_0001", "http://rm/proxy/application_1_0001/")
	if got := next(); got.SparkUIURL != "http://rm/proxy/application_1_0001/" {
		t.Errorf("second observation %+v", got)
	}
	apps.set("e", supervisor.Finished)
	waitDone(t, h)
	if len(seen) != 0 {
		t.Errorf("%d more observations of an unchanged application", len(seen))
	}
}

func TestRunningIsToldOnceWhenTheClusterManagerRunsTheApplication(t *testing.T) {
	apps := newFakeApps()
	apps.apps["s"] = launcher.App{Status: supervisor.Running, Submitting: true}
	var group lifecycle.Group
	group.Start(context.Background())
	defer group.Stop()
	tr := New(&group, apps, time.Millisecond, slog.New(slog.DiscardHandler))
	var running atomic.Int32
	h := tr.Follow(6, "s", Events{Ended: func(*launcher.End) {}, Running: func() { running.Add(1) }})
	time.Sleep(30 * time.Millisecond)
	if n := running.Load(); n != 0 {
		t.Fatalf("told running %d times while it was being submitted", n)
	}
	apps.mu.Lock()
	apps.apps["s"] = launcher.App{Status: supervisor.Running}
	apps.mu.Unlock()
	time.Sleep(30 * time.Millisecond)
	apps.set("s", supervisor.Finished)
	waitDone(t, h)
	if n := running.Load(); n != 1 {
		t.Errorf("told running %d times, want once", n)
	}
}
