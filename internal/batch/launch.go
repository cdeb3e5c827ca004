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

// launchWorker takes queued batches one at a time; the number of workers is the bound on
// concurrent launches.
func (m *Manager) launchWorker() {
	for {
		id, ok := m.queue.next(m.ctx)
		if !ok {
			return
		}
		if tag, pid := m.launch(id); tag != "" {
			m.awaitLaunchPhase(id, tag, pid)
		}
	}
}

// launch starts the application of batch id unless it was already started, and returns its
// tag and the supervisor pid when this call started it.
func (m *Manager) launch(id int64) (string, int) {
	ctx := m.ctx
	sess, err := m.store.GetSession(ctx, store.KindBatch, id)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			m.log.Error("launch: read batch", "id", id, "err", err)
			m.retryLater(id)
		}
		return "", 0
	}
	if sess.State != store.StateStarting && sess.State != store.StateRunning {
		return "", 0
	}
	// Look for the tag first: a previous server may have started it just before dying.
	app, err := m.launcher.Inspect(ctx, sess.Tag)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			m.log.Error("launch: inspect application", "id", id, "err", err)
			m.retryLater(id)
		}
		return "", 0
	case app.Status == supervisor.Finished:
		m.finish(id, sess.Tag, app.End)
		return "", 0
	case app.Status == supervisor.Running:
		m.watch(id, sess.Tag) // which marks it running once it runs
		return "", 0
	}
	if wait := sess.ResubmitWait(m.cfg.ResubmitGrace, m.now()); wait > 0 {
		m.log.Info("launched but not yet known to the cluster manager; waiting before launching again", "id", id, "wait", wait.Round(time.Second))
		m.retryAfter(id, wait)
		return "", 0
	}
	var req livy.CreateBatchRequest
	if err := json.Unmarshal(sess.Request, &req); err != nil {
		m.fail(id, sess.Tag, "stored request is unreadable: "+err.Error())
		return "", 0
	}
	argv, err := m.launcher.Command(specOf(&req), sess.Tag)
	if err != nil {
		m.fail(id, sess.Tag, "refused at launch: "+err.Error())
		return "", 0
	}
	pid, wanted, err := m.run.Start(ctx, sess.Tag, argv, nil, runner.Record(m.store, store.KindBatch, id))
	if err != nil {
		if ctx.Err() != nil {
			return "", 0 // shutting down; the next start will look for the tag again
		}
		m.fail(id, sess.Tag, err.Error())
		return "", 0
	}
	m.metrics.Launches.Inc()
	if !wanted {
		return "", 0
	}
	m.recordLaunch(id, &store.Launch{SupervisorPID: pid, LaunchedAt: m.now()})
	m.watch(id, sess.Tag)
	m.log.Info("launched batch", "id", id, "tag", sess.Tag, "supervisor_pid", pid)
	return sess.Tag, pid
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
// it ended, or the launch timeout passed, reading the app id and UI URL on the way.
func (m *Manager) awaitLaunchPhase(id int64, tag string, pid int) {
	path := m.launcher.LogPath(tag)
	timeout := time.NewTimer(m.cfg.LaunchTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(m.cfg.PollInterval)
	defer tick.Stop()
	read := 0
	var seen launchLog
	for !seen.up {
		select {
		case <-m.ctx.Done():
			return
		case <-timeout.C:
			return
		case <-tick.C:
		}
		lines, total, err := m.Logs.Lines(path, read, 10000)
		if err != nil {
			return
		}
		read = min(total, read+len(lines))
		for _, line := range lines {
			seen.scan(line)
		}
		if app, _ := m.launcher.Inspect(m.ctx, tag); app.Status == supervisor.Finished || app.ID != "" {
			// ended, or a cluster manager runs it (cluster mode: spark-submit lets go)
			seen.up = true
		}
	}
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
