package batch

import (
	"errors"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/tracking"
)

// neverStartedGrace is how long a launched application may show no sign of its supervisor
// before it is launched again (the directory makes a second launch safe).
const neverStartedGrace = 5 * time.Second

// watch follows a started application until its directory records how it ended.
func (m *Manager) watch(id int64, tag string) {
	running := false // recorded running; the handle's events come from one goroutine
	m.apps.Follow(id, tag, tracking.Events{
		Ended: func(end *launcher.End) {
			m.finish(id, tag, end)
		},
		Observed: func(app launcher.App) {
			// an id and a start seen at once are one update
			m.observed(id, app, !app.Submitting && !running)
			running = running || !app.Submitting
		},
		Running: func() {
			if !running {
				running = true
				m.markRunning(id)
			}
		},
		NeverStarted: func() {
			m.log.Warn("application never started; launching again", "id", id, "tag", tag)
			m.enqueue(id)
		},
		StartGrace: neverStartedGrace,
	})
}

// update applies p, retrying while the store is unavailable (store.UpdateUntilRecorded).
func (m *Manager) update(p *store.UpdateParams) (*store.Session, error) {
	return store.UpdateUntilRecorded(m.ctx, m.store, p, m.log)
}

// markRunning records that the batch's application runs: its supervisor's process here, or
// the cluster manager runs it (not while it is being submitted or waits for resources).
func (m *Manager) markRunning(id int64) {
	running := store.StateRunning
	m.record(id, &store.UpdateParams{State: &running})
}

// recordLaunch records the launch of the batch's application; it stays starting until the
// application is seen running.
func (m *Manager) recordLaunch(id int64, launch *store.Launch) {
	m.record(id, &store.UpdateParams{Launch: launch})
}

func (m *Manager) record(id int64, p *store.UpdateParams) {
	p.Kind, p.ID, p.Now = store.KindBatch, id, m.now()
	p.IfStates = []store.State{store.StateStarting, store.StateRunning}
	if _, err := m.update(p); err != nil && !errors.Is(err, store.ErrStateConflict) && !errors.Is(err, store.ErrNotFound) {
		m.log.Error("record batch launch", "id", id, "err", err)
	}
}

// finish records the application's outcome unless the batch already ended (killed by DELETE):
// success, killed when the cluster manager killed it, dead otherwise. The reason of a failure
// goes into the batch's log first, so that a client which sees the batch ended finds why in
// its log.
func (m *Manager) finish(id int64, tag string, end *launcher.End) {
	state := map[launcher.Outcome]store.State{launcher.Succeeded: store.StateSuccess, launcher.Killed: store.StateKilled}[end.Outcome]
	if state == "" {
		state = store.StateDead
	}
	reason, code := end.Reason, end.ExitCode
	if reason != "" {
		_ = m.launcher.Note(tag, "the application ended: "+reason)
	}
	_, err := m.update(&store.UpdateParams{
		Kind: store.KindBatch, ID: id, IfStates: []store.State{store.StateStarting, store.StateRunning},
		State: &state, ExitCode: &code, Reason: &reason, Now: m.now(),
	})
	switch {
	case err == nil:
		m.metrics.Finished.WithLabelValues(string(state)).Inc()
		m.log.Info("batch finished", "id", id, "state", state, "exit_code", code)
	case errors.Is(err, store.ErrStateConflict), errors.Is(err, store.ErrNotFound):
	default:
		m.log.Error("record batch outcome", "id", id, "err", err)
	}
}

// observed records the cluster manager's id of a batch's application and its links, and that it
// runs when running says so.
func (m *Manager) observed(id int64, app launcher.App, running bool) {
	p := store.AppSeen(store.KindBatch, id, app.ID, store.AppInfo{SparkUIURL: app.SparkUIURL, DriverLogURL: app.DriverLogURL}, m.now())
	if running {
		state := store.StateRunning
		p.State, p.IfStates = &state, []store.State{store.StateStarting, store.StateRunning}
	}
	if _, err := m.store.UpdateSession(m.ctx, p); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrStateConflict) {
		m.log.Warn("record app id", "id", id, "err", err)
	}
}

func (m *Manager) fail(id int64, tag, reason string) {
	_ = m.launcher.Note(tag, reason)
	dead := store.StateDead
	_, err := m.update(&store.UpdateParams{
		Kind: store.KindBatch, ID: id, IfStates: []store.State{store.StateStarting, store.StateRunning},
		State: &dead, Reason: &reason, Now: m.now(),
	})
	switch {
	case err == nil:
		m.metrics.Finished.WithLabelValues(string(dead)).Inc()
	case !errors.Is(err, store.ErrStateConflict) && !errors.Is(err, store.ErrNotFound):
		m.log.Error("record batch failure", "id", id, "err", err)
	}
	m.log.Warn("batch failed to launch", "id", id, "reason", reason)
}
