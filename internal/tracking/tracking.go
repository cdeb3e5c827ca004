// Package tracking follows the Spark applications this instance supervises, whatever kind of
// session they serve: one handle per application, owned by one goroutine that asks where the
// application runs (its supervisor's directory, or the cluster manager through the backend)
// until its end is known, reports what it learns on the way and that end once, and closes
// the handle's done channel. The session managers
// decide what an end means for their sessions; this package only knows applications.
package tracking

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/lifecycle"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// Inspector tells an application's status by its tag (launcher.Backend).
type Inspector interface {
	Inspect(ctx context.Context, tag string) (launcher.App, error)
}

// Events are what a handle reports, from its own goroutine.
type Events struct {
	// Ended receives the application's end once it is known, once.
	Ended func(end *launcher.End)
	// Observed, when set, receives the application whenever its id or links changed (a
	// cluster manager gives the id at submission and the UI's URL once it runs).
	Observed func(app launcher.App)
	// Running, when set, is called once, when the application is first seen running (not
	// Submitting any more).
	Running func()
	// NeverStarted, when set, is called after the application showed no sign of running for
	// StartGrace (a launch that was lost); the handle then stops following, and the caller
	// launches again. When nil, the handle keeps waiting.
	NeverStarted func()
	StartGrace   time.Duration
}

// Tracker owns the handles. Their goroutines belong to the group it was made with and end with
// its context.
type Tracker struct {
	ctx      context.Context
	goFn     func(func())
	inspect  Inspector
	interval time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	handles map[int64]*Handle
	beat    chan struct{} // closed at each tick of the one clock all handles follow
}

// New returns a tracker that checks each application every interval until the group's
// context ends, on goroutines of the group (lifecycle.Group), whose Stop waits for them.
// Every handle follows one clock: a thousand applications cost one timer, and they are asked
// about together, which a cluster backend answers from one request.
func New(group *lifecycle.Group, inspect Inspector, interval time.Duration, log *slog.Logger) *Tracker {
	t := &Tracker{ctx: group.Context(), goFn: group.Go, inspect: inspect, interval: interval, log: log,
		handles: map[int64]*Handle{}, beat: make(chan struct{})}
	group.Go(t.clock)
	return t
}

// clock closes the current beat every interval, until the context ends.
func (t *Tracker) clock() {
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
		}
		t.mu.Lock()
		close(t.beat)
		t.beat = make(chan struct{})
		t.mu.Unlock()
	}
}

// next is the beat a handle waits for.
func (t *Tracker) next() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.beat
}

// Handle is one followed application.
type Handle struct {
	ID   int64 // the session it serves
	Tag  string
	done chan struct{}
}

// Done is closed when the handle stopped following: the end was reported, the application
// never started, or the tracker stopped.
func (h *Handle) Done() <-chan struct{} { return h.done }

// Follow follows the application of session id (tag) and returns its handle; a session
// already followed keeps its handle and its events.
func (t *Tracker) Follow(id int64, tag string, ev Events) *Handle {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h, ok := t.handles[id]; ok {
		return h
	}
	h := &Handle{ID: id, Tag: tag, done: make(chan struct{})}
	t.handles[id] = h
	t.goFn(func() {
		defer close(h.done)
		defer t.forget(h)
		t.run(h, ev)
	})
	return h
}

// forget stops counting h as its session's handle; the session may be followed anew at once.
func (t *Tracker) forget(h *Handle) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.handles[h.ID] == h {
		delete(t.handles, h.ID)
	}
}

// Following reports whether session id's application is followed.
func (t *Tracker) Following(id int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.handles[id]
	return ok
}

func (t *Tracker) run(h *Handle, ev Events) {
	var notRunningSince time.Time
	var seen launcher.App
	toldRunning := false
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-t.next():
		}
		app, err := t.inspect.Inspect(t.ctx, h.Tag)
		if err != nil {
			if t.ctx.Err() == nil {
				t.log.Warn("inspect application", "id", h.ID, "tag", h.Tag, "err", err)
			}
			continue
		}
		if ev.Observed != nil && app.ID != "" && (app.ID != seen.ID || app.SparkUIURL != seen.SparkUIURL || app.DriverLogURL != seen.DriverLogURL) {
			seen = app
			ev.Observed(app)
		}
		switch app.Status {
		case supervisor.Finished:
			ev.Ended(app.End)
			return
		case supervisor.Running:
			notRunningSince = time.Time{}
			if ev.Running != nil && !app.Submitting && !toldRunning {
				toldRunning = true
				ev.Running()
			}
		case supervisor.NotStarted:
			// The supervisor has not taken its lock yet, or it met an inspection and gave way.
			if ev.NeverStarted == nil {
				continue
			}
			if notRunningSince.IsZero() {
				notRunningSince = time.Now()
			} else if time.Since(notRunningSince) > ev.StartGrace {
				// The caller may start and follow the application again from the event.
				t.forget(h)
				ev.NeverStarted()
				return
			}
		}
	}
}
