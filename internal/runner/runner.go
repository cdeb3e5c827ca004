// Package runner is where a session manager's applications are started and killed, whatever
// kind of session they serve: the instance's launch slots (Slots, shared by both kinds), a
// start that a DELETE overtook killed once it started, a kill by tag that escalates from gentle
// to forced. It knows applications by their tag, and asks the manager (through the durable
// record) whether a session still wants its application; it never knows what a batch or an
// interactive session is.
package runner

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/lifecycle"
	"github.com/sparkgate/sparkgate/internal/periodic"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// Backend is what the runner needs of where applications run (launcher.Backend).
type Backend interface {
	Start(ctx context.Context, tag string, argv []string, extraEnv ...string) (int, error)
	launcher.Ender
}

// Runner starts and kills the applications of one session manager. Its kills' escalations run
// on the goroutines of the manager's group, and end with it.
type Runner struct {
	backend     Backend
	grace, poll time.Duration
	ctx         context.Context
	goFn        func(func())
	log         *slog.Logger
}

// New returns the runner of the manager whose goroutines group owns, pacing its kills by
// limits (KillGrace, PollInterval; launcher.Limits.WithDefaults first).
func New(group *lifecycle.Group, b Backend, limits launcher.Limits, log *slog.Logger) *Runner {
	return &Runner{backend: b, grace: limits.KillGrace, poll: limits.PollInterval, ctx: group.Context(), goFn: group.Go, log: log}
}

// Wanted tells, from the session's durable record, whether its session still wants the
// application: false once the session was deleted or ended, on any instance.
type Wanted func(ctx context.Context) (bool, error)

// Record is the Wanted of the session of kind and id in st: wanted while its record is there
// and not terminal (a DELETE marks it killed, or removes it).
func Record(st store.Store, kind store.Kind, id int64) Wanted {
	return func(ctx context.Context) (bool, error) {
		sess, err := st.GetSession(ctx, kind, id)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil && !sess.State.Terminal(), err
	}
}

// Start starts argv as the application of tag, then asks wanted. A DELETE that came while the
// application was being started found nothing to kill, wherever it was served; the deletion is
// on the record, so the start reads it again once the backend says the application runs (a
// backend's Start returns only then) and kills it at once. Whatever order the two take, the
// application ends: either this read sees the deletion, or the deletion came after the start
// returned and its kill found the application. It reports the pid, and false when the
// application was killed for it. An unreadable record leaves the application running (the
// caller follows it; a later DELETE kills it).
func (r *Runner) Start(ctx context.Context, tag string, argv, env []string, wanted Wanted) (int, bool, error) {
	pid, err := r.backend.Start(ctx, tag, argv, env...)
	if err != nil {
		return 0, false, err
	}
	ok, err := wanted(ctx)
	if err != nil {
		r.log.Warn("read the record after a start", "tag", tag, "err", err)
		return pid, true, nil
	}
	if ok {
		return pid, true, nil
	}
	r.log.Info("the session was deleted while its application was being started; killing it", "tag", tag, "pid", pid)
	if _, err := r.Kill(tag); err != nil {
		r.log.Warn("kill an application started after its session's deletion", "tag", tag, "err", err)
	}
	return pid, false, nil
}

// Kill ends the application of tag as DELETE does: gently now, and by force when it still
// runs after the grace (checked every poll). It reports whether there was a running
// application to kill.
func (r *Runner) Kill(tag string) (bool, error) {
	sent, err := r.backend.Kill(r.ctx, tag, false)
	if err != nil || !sent {
		return sent, err
	}
	r.goFn(func() {
		deadline := time.NewTimer(r.grace)
		defer deadline.Stop()
		periodic.Every(r.ctx, r.poll, func() bool {
			if app, _ := r.backend.Inspect(r.ctx, tag); app.Status != supervisor.Running {
				return false // it ended on SIGTERM
			}
			select {
			case <-deadline.C:
				r.backend.Kill(r.ctx, tag, true)
				return false
			default:
				return true
			}
		})
	})
	return true, nil
}
