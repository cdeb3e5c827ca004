// Package batch owns the lifecycle of batch sessions: durable creation, a bounded launch
// queue, tracking each application to its true final state, killing, recovery after a
// restart, and forgetting finished batches after their retention.
//
// The store is the source of truth. Creation is one store transaction that leaves a
// "starting" record with a fresh application tag; launching, done later by a worker, asks the
// application directory of that tag whether it was already started before starting it, so a
// crash between any two steps never starts an application twice nor loses one.
package batch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sparkgate/sparkgate/internal/idempotency"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/lifecycle"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/metrics"
	"github.com/sparkgate/sparkgate/internal/periodic"
	"github.com/sparkgate/sparkgate/internal/records"
	"github.com/sparkgate/sparkgate/internal/runner"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/supervisor"
	"github.com/sparkgate/sparkgate/internal/tracking"
)

// Config tunes the manager.
type Config struct {
	launcher.Limits
	// Bounds are what one user may hold, and how long a reserved id waits for its PUT.
	Bounds idempotency.Bounds
	// InstanceID names this server among the instances sharing the store (instance.Instance
	// keeps its lease and hands the manager the batches it adopts).
	InstanceID string
	// SweepInterval is how often never-launched batches are looked for, in case a launch was
	// lost with an error.
	SweepInterval time.Duration
	// Slots are the instance's launch slots, shared with the interactive sessions
	// (MaxConcurrentLaunches of the manager's own when nil).
	Slots *runner.Slots
}

func (c *Config) withDefaults() {
	c.Limits = c.Limits.WithDefaults()
	c.Bounds = c.Bounds.WithDefaults()
	if c.InstanceID == "" {
		c.InstanceID = "sparkgate"
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = 5 * time.Second
	}
	if c.Slots == nil {
		c.Slots = runner.NewSlots(c.MaxConcurrentLaunches)
	}
}

// Launcher is what the manager needs of where applications run (launcher.Backend).
type Launcher = launcher.Backend

// Manager runs batch sessions. Start it before use and Stop it to end its goroutines; the
// Spark applications themselves keep running.
type Manager struct {
	records.Reader // Get, List, Log, LogTail
	cfg            Config
	store          store.Store
	launcher       Launcher
	metrics        *metrics.Metrics
	log            *slog.Logger
	now            func() time.Time

	queue *launchQueue
	// launching are the batches this process is launching: a replayed create queues its
	// batch again while a worker launches it, and two launches of one batch at once would
	// both start (the directory keeps one; the other's errors would end the batch dead).
	launching inflight

	apps *tracking.Tracker // the applications followed; made by Start
	run  *runner.Runner    // starts and kills them; made by Start

	ctx  context.Context
	life lifecycle.Group
}

// New returns a manager; call Start.
func New(cfg Config, st store.Store, l Launcher, logs *logfile.Index, m *metrics.Metrics, log *slog.Logger) *Manager {
	cfg.withDefaults()
	if m == nil {
		m = metrics.New()
	}
	return &Manager{
		Reader: records.Reader{Kind: store.KindBatch, Store: st, Logs: logs, LogPath: l.LogPath},
		cfg:    cfg, store: st, launcher: l, metrics: m, log: log, now: time.Now,
		queue: newLaunchQueue(m.QueueDepth),
	}
}

// Start recovers the unfinished batches this instance supervises, then starts the launch
// workers and the sweeper. It returns once recovery has been decided (not once applications
// finished). The instance's lease must be held already (instance.Join).
func (m *Manager) Start(ctx context.Context) error {
	m.ctx = m.life.Start(ctx)
	m.apps = tracking.New(&m.life, m.launcher, m.cfg.FollowInterval, m.log)
	m.run = runner.New(&m.life, m.launcher, m.cfg.Limits, m.log)
	active, err := m.store.ListActive(ctx, store.KindBatch)
	if err != nil {
		return fmt.Errorf("recover batches: %w", err)
	}
	recovered := 0
	for _, sess := range active {
		if sess.Supervisor == m.cfg.InstanceID {
			m.Recover(sess)
			recovered++
		}
	}
	if recovered > 0 {
		m.log.Info("recovered batches", "count", recovered)
	}
	for range m.cfg.MaxConcurrentLaunches {
		m.life.Go(m.launchWorker)
	}
	m.life.Go(func() { periodic.Every(m.ctx, m.cfg.SweepInterval, func() bool { m.sweep(); return true }) })
	return nil
}

// Stop ends the manager's goroutines and waits for them. Applications keep running and are
// re-attached by whoever supervises them next.
func (m *Manager) Stop() {
	m.life.Stop()
}

// sweep queues every never-launched batch this instance supervises, in case its launch was
// lost with an error (resumeLaunch covers the cases a client retries; this covers the rest).
func (m *Manager) sweep() {
	active, err := m.store.ListActive(m.ctx, store.KindBatch)
	if err != nil {
		m.log.Warn("sweep unlaunched batches", "err", err)
		return
	}
	for _, sess := range active {
		if !m.apps.Following(sess.ID) && !sess.Deleted() {
			m.resumeLaunch(sess)
		}
	}
}

// Recover resumes supervising a batch of this instance, or one adopted from a peer: a running
// application is watched, a finished one recorded, a never-started one launched.
func (m *Manager) Recover(sess *store.Session) {
	app, err := m.launcher.Inspect(m.ctx, sess.Tag)
	switch {
	case err != nil:
		m.log.Error("cannot inspect application; leaving batch as it is", "id", sess.ID, "tag", sess.Tag, "err", err)
	case app.Status == supervisor.Finished:
		m.finish(sess.ID, sess.Tag, app.End)
	case app.Status == supervisor.Running:
		m.watch(sess.ID, sess.Tag) // which marks it running once it runs
	default:
		m.enqueue(sess.ID)
	}
}

// CreateOptions make a create idempotent, in one of LIVY-782's two ways.
type CreateOptions = idempotency.Options

// Create validates req, stores the new batch durably and queues its launch. With a request
// id or a reserved id, a repeat of the same request returns the batch created first
// (Replayed), touching neither the store nor Spark.
func (m *Manager) Create(ctx context.Context, req *livy.CreateBatchRequest, opts CreateOptions) (*store.Created, error) {
	p := &store.CreateParams{
		Kind: store.KindBatch, State: store.StateStarting, Supervisor: m.cfg.InstanceID,
		Tag: "sparkgate-batch-{id}-" + launcher.RandomSuffix(), Now: m.now(),
		Name: livy.Value(req.Name), ProxyUser: livy.Value(req.ProxyUser),
	}
	created, err := idempotency.Create(ctx, m.store, p, req.Canonical(), opts, m.cfg.Bounds, func() error {
		if err := req.Validate(); err != nil {
			return err
		}
		// Build the command once now so that policy errors are the client's 400, not a dead batch.
		_, err := m.launcher.Command(specOf(req), "sparkgate-batch-0-check")
		return err
	})
	if err != nil {
		return nil, err
	}
	if created.Replayed {
		m.resumeLaunch(created.Session)
		m.metrics.Creates.WithLabelValues(string(store.KindBatch), "replayed").Inc()
	} else {
		m.enqueue(created.Session.ID)
		m.metrics.Creates.WithLabelValues(string(store.KindBatch), "created").Inc()
	}
	return created, nil
}

// resumeLaunch queues the launch of a batch this instance supervises that was never launched:
// its create may have committed while its answer (and so its launch) was lost, as when the
// database restarts mid-commit. Launching looks for the tag first, so this never launches twice.
func (m *Manager) resumeLaunch(sess *store.Session) {
	if sess.State == store.StateStarting && sess.Launch == nil && sess.Supervisor == m.cfg.InstanceID {
		m.enqueue(sess.ID)
	}
}

// Queued is how many batches of this instance wait for a launch slot.
func (m *Manager) Queued() int { return m.queue.len() }

// ReserveID reserves the next batch id for a later PUT /batches/{id} with the returned putKey.
func (m *Manager) ReserveID(ctx context.Context, owner string) (int64, string, error) {
	return idempotency.Reserve(ctx, m.store, store.KindBatch, owner, m.now(), m.cfg.Bounds)
}

func specOf(req *livy.CreateBatchRequest) *launcher.Spec {
	s := launcher.SpecOf(req.File, req.Submission())
	for _, a := range req.Args {
		s.Args = append(s.Args, string(a))
	}
	if req.ClassName != nil {
		s.ClassName = *req.ClassName
	}
	return s
}

// Delete removes a batch from view and kills its application: SIGTERM to its process group
// now, SIGKILL after the grace period if it is still alive. The deletion is on the record
// first: a launch under way on any instance reads it once its application started, and kills
// it (runner.Start).
func (m *Manager) Delete(ctx context.Context, id int64) error {
	before, err := m.store.DeleteSession(ctx, store.KindBatch, id, m.now())
	if err != nil {
		return err
	}
	if before.State.Terminal() {
		return nil
	}
	m.metrics.Finished.WithLabelValues(string(store.StateKilled)).Inc()
	m.queue.remove(id)
	if _, err := m.run.Kill(before.Tag); err != nil {
		m.log.Warn("kill batch", "id", id, "err", err)
	}
	_ = m.launcher.Note(before.Tag, "batch deleted; application killed")
	return nil
}

func (m *Manager) enqueue(id int64) { m.queue.add(id) }

// inflight is a set of batch ids, safe for concurrent use.
type inflight struct {
	mu  sync.Mutex
	ids map[int64]bool
}

// begin adds id, and reports false when it was there already.
func (f *inflight) begin(id int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ids[id] {
		return false
	}
	if f.ids == nil {
		f.ids = map[int64]bool{}
	}
	f.ids[id] = true
	return true
}

func (f *inflight) end(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ids, id)
}
