package batch

import (
	"errors"
	"time"

	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// watch follows a started application until its directory records how it ended.
func (m *Manager) watch(id int64, tag string) {
	m.mu.Lock()
	if m.watching[id] {
		m.mu.Unlock()
		return
	}
	m.watching[id] = true
	m.mu.Unlock()
	m.wg.Go(func() {
		done := func() {
			m.mu.Lock()
			delete(m.watching, id)
			delete(m.spawned, id)
			m.mu.Unlock()
		}
		tick := time.NewTicker(m.cfg.PollInterval)
		defer tick.Stop()
		notStartedSince := time.Time{}
		for {
			select {
			case <-m.ctx.Done():
				done()
				return
			case <-tick.C:
			}
			st, exit, err := m.launcher.Inspect(tag)
			if err != nil {
				m.log.Warn("inspect application", "id", id, "err", err)
				continue
			}
			switch st {
			case supervisor.Finished:
				m.finish(id, exit)
				done()
				return
			case supervisor.Running:
				notStartedSince = time.Time{}
			case supervisor.NotStarted:
				// The supervisor has not taken its lock yet, or it met an inspection and gave
				// way. Give it a moment, then launch again: the directory makes that safe.
				if notStartedSince.IsZero() {
					notStartedSince = m.now()
				} else if m.now().Sub(notStartedSince) > 5*time.Second {
					m.log.Warn("application never started; launching again", "id", id, "tag", tag)
					done()
					m.enqueue(id)
					return
				}
			}
		}
	})
}

// update applies p, retrying while the store is unavailable (store.UpdateUntilRecorded).
func (m *Manager) update(p *store.UpdateParams) (*store.Session, error) {
	return store.UpdateUntilRecorded(m.ctx, m.store, p, m.log)
}

func (m *Manager) markRunning(id int64, launch *store.Launch) {
	running := store.StateRunning
	_, err := m.update(&store.UpdateParams{
		Kind: store.KindBatch, ID: id, IfStates: []store.State{store.StateStarting, store.StateRunning},
		State: &running, Launch: launch, Now: m.now(),
	})
	if err != nil && !errors.Is(err, store.ErrStateConflict) && !errors.Is(err, store.ErrNotFound) {
		m.log.Error("record batch running", "id", id, "err", err)
	}
}

// finish records the application's outcome unless the batch already ended (killed by DELETE).
func (m *Manager) finish(id int64, exit *supervisor.Exit) {
	state := store.StateDead
	if exit.Success() {
		state = store.StateSuccess
	}
	reason := ""
	if !exit.Success() {
		reason = exit.Describe()
	}
	code := exit.Code
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
