package tracking

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/lifecycle"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

type fakeApps struct {
	mu     sync.Mutex
	status map[string]supervisor.Status
}

func (f *fakeApps) set(tag string, st supervisor.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[tag] = st
}

func (f *fakeApps) Inspect(tag string) (supervisor.Status, *supervisor.Exit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status[tag], &supervisor.Exit{Code: 3}, nil
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
	apps := &fakeApps{status: map[string]supervisor.Status{"a": supervisor.Running}}
	var group lifecycle.Group
	group.Start(context.Background())
	tr := New(&group, apps, time.Millisecond, slog.New(slog.DiscardHandler))
	var ended atomic.Int32
	var code atomic.Int32
	ev := Events{Ended: func(e *supervisor.Exit) { ended.Add(1); code.Store(int32(e.Code)) }}
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
	apps := &fakeApps{status: map[string]supervisor.Status{}}
	var group lifecycle.Group
	group.Start(context.Background())
	tr := New(&group, apps, time.Millisecond, slog.New(slog.DiscardHandler))
	var lost atomic.Bool
	h := tr.Follow(2, "b", Events{Ended: func(*supervisor.Exit) { t.Error("ended") }, NeverStarted: func() { lost.Store(true) },
		StartGrace: 20 * time.Millisecond})
	waitDone(t, h)
	if !lost.Load() {
		t.Error("NeverStarted was not called")
	}
	// without NeverStarted, a handle waits for as long as it takes
	patient := tr.Follow(3, "c", Events{Ended: func(*supervisor.Exit) {}})
	time.Sleep(50 * time.Millisecond)
	if !tr.Following(3) {
		t.Error("a handle without NeverStarted gave up")
	}
	apps.set("c", supervisor.Finished)
	waitDone(t, patient)
}

func TestHandlesStopWithTheirContext(t *testing.T) {
	apps := &fakeApps{status: map[string]supervisor.Status{"d": supervisor.Running}}
	var group lifecycle.Group
	group.Start(context.Background())
	tr := New(&group, apps, time.Millisecond, slog.New(slog.DiscardHandler))
	h := tr.Follow(4, "d", Events{Ended: func(*supervisor.Exit) { t.Error("ended") }})
	group.Stop() // ends the handle's goroutine and waits for it
	waitDone(t, h)
}
