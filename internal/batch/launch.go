package batch

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/runner"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// launchWorker takes queued batches one at a time, each in a launch slot of the instance's
// (shared with the sessions' drivers) that it holds through the launch phase. A worker takes a
// slot only once it has a batch: an idle worker holds none.
func (m *Manager) launchWorker() {
	for {
		id, ok := m.queue.next(m.ctx)
		if !ok || !m.cfg.Slots.Take(m.ctx) {
			return
		}
		if tag := m.launch(id); tag != "" {
			m.awaitLaunchPhase(id, tag)
		}
		m.cfg.Slots.Give()
	}
}

// launch starts the application of batch id unless it was already started, and returns its
// tag when this call started it.
func (m *Manager) launch(id int64) string {
	if !m.launching.begin(id) {
		return "" // another worker launches it
	}
	defer m.launching.end(id)
	ctx := m.ctx
	sess, err := m.store.GetSession(ctx, store.KindBatch, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			m.log.Error("launch: read batch", "id", id, "err", err)
			m.retryLater(id)
		}
		return ""
	}
	if sess.State != store.StateStarting && sess.State != store.StateRunning {
		return ""
	}
	// Look for the tag first: a previous server may have started it just before dying.
	app, err := m.launcher.Inspect(ctx, sess.Tag)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			m.log.Error("launch: inspect application", "id", id, "err", err)
			m.retryLater(id)
		}
		return ""
	case app.Status == supervisor.Finished:
		m.finish(id, sess.Tag, app.End)
		return ""
	case app.Status == supervisor.Running:
		m.watch(id, sess.Tag) // which marks it running once it runs
		return ""
	}
	if wait := sess.ResubmitWait(m.cfg.ResubmitGrace, m.now()); wait > 0 {
		m.log.Info("launched but not yet known to the cluster manager; waiting before launching again", "id", id, "wait", wait.Round(time.Second))
		m.retryAfter(id, wait)
		return ""
	}
	var req livy.CreateBatchRequest
	if err := json.Unmarshal(sess.Request, &req); err != nil {
		m.fail(id, sess.Tag, "stored request is unreadable: "+err.Error())
		return ""
	}
	argv, err := m.launcher.Command(specOf(&req), sess.Tag)
	if err != nil {
		m.fail(id, sess.Tag, "refused at launch: "+err.Error())
		return ""
	}
	pid, wanted, err := m.run.Start(ctx, sess.Tag, argv, nil, runner.Record(m.store, store.KindBatch, id))
	if err != nil {
		if ctx.Err() != nil {
			return "" // shutting down; the next start will look for the tag again
		}
		m.fail(id, sess.Tag, err.Error())
		return ""
	}
	m.metrics.Launches.Inc()
	if !wanted {
		return ""
	}
	m.recordLaunch(id, &store.Launch{SupervisorPID: pid, LaunchedAt: m.now()})
	m.watch(id, sess.Tag)
	m.log.Info("launched batch", "id", id, "tag", sess.Tag, "supervisor_pid", pid)
	return sess.Tag
}

func (m *Manager) retryLater(id int64) { m.retryAfter(id, time.Second) }

// retryAfter queues the launch of batch id again after wait.
func (m *Manager) retryAfter(id int64, wait time.Duration) {
	m.life.Go(func() {
		select {
		case <-m.ctx.Done():
		case <-time.After(wait):
			m.enqueue(id)
		}
	})
}

// awaitLaunchPhase holds the caller's launch slot until the application's SparkContext is up,
// it ended, or the launch timeout passed, and records the app id and UI URL its log led to. A
// start slower than the timeout (a loaded host) gives its slot to the next launch and is read
// on, on a goroutine of the manager's, until its SparkContext is up or it ended: its id is
// recorded late rather than never.
func (m *Manager) awaitLaunchPhase(id int64, tag string) {
	r := &launchReading{path: m.launcher.LogPath(tag)}
	timeout := time.NewTimer(m.cfg.LaunchTimeout)
	defer timeout.Stop()
	if m.readLaunch(r, tag, timeout.C) {
		m.recordLaunchPhase(id, tag, &r.seen)
		return
	}
	if m.ctx.Err() == nil {
		m.life.Go(func() {
			if m.readLaunch(r, tag, nil) {
				m.recordLaunchPhase(id, tag, &r.seen)
			}
		})
	}
}

// launchReading is how far a launch's log was read, and what it told.
type launchReading struct {
	path string
	read int
	seen launchLog
}

// readLaunch reads the application's log until its SparkContext is up or it ended (true), or
// until giveUp fires or the manager stops (false).
func (m *Manager) readLaunch(r *launchReading, tag string, giveUp <-chan time.Time) bool {
	tick := time.NewTicker(m.cfg.PollInterval)
	defer tick.Stop()
	for !r.seen.up {
		select {
		case <-m.ctx.Done():
			return false
		case <-giveUp:
			return false
		case <-tick.C:
		}
		lines, total, err := m.Logs.Lines(r.path, r.read, 10000)
		if err != nil {
			return false
		}
		r.read = min(total, r.read+len(lines))
		for _, line := range lines {
			r.seen.scan(line)
		}
		if app, _ := m.launcher.Inspect(m.ctx, tag); app.Status == supervisor.Finished || app.ID != "" {
			// ended, or a cluster manager runs it (cluster mode: spark-submit lets go)
			r.seen.up = true
		}
	}
	return true
}

// recordLaunchPhase records the app id and UI URL of the UI the log proposed that serves the
// application of tag.
func (m *Manager) recordLaunchPhase(id int64, tag string, seen *launchLog) {
	p := &store.UpdateParams{Kind: store.KindBatch, ID: id, Now: m.now()}
	var appID, ui string
	if candidates := seen.uiCandidates(); len(candidates) > 0 {
		// none of them this application's: no link (a cluster backend links its own)
		appID, ui = appIDFromUI(m.ctx, candidates, tag)
	}
	if appID != "" {
		p.AppID = &appID
	}
	if ui != "" {
		p.AppInfo = &store.AppInfo{SparkUIURL: ui}
	}
	if p.AppID == nil && p.AppInfo == nil {
		return
	}
	if _, err := m.store.UpdateSession(m.ctx, p); err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.Warn("record app id", "id", id, "err", err)
	}
}
