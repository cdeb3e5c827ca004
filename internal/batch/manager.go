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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sparkgate/sparkgate/internal/idempotency"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/metrics"
	"github.com/sparkgate/sparkgate/internal/periodic"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// Config tunes the manager.
type Config struct {
	// MaxConcurrentLaunches bounds how many applications may be in their launch phase (from
	// spark-submit's start until its SparkContext is up) at once.
	MaxConcurrentLaunches int
	// LaunchTimeout ends a launch phase that shows no sign of a SparkContext.
	LaunchTimeout time.Duration
	// KillGrace is how long DELETE's SIGTERM has before SIGKILL.
	KillGrace time.Duration
	// PollInterval is how often a running application's directory is checked.
	PollInterval time.Duration
	// ReservationTTL is how long a reserved id waits for its PUT.
	ReservationTTL time.Duration
	// InstanceID names this server among the instances sharing the store (instance.Instance
	// keeps its lease and hands the manager the batches it adopts).
	InstanceID string
	// SweepInterval is how often never-launched batches are looked for, in case a launch was
	// lost with an error.
	SweepInterval time.Duration
}

func (c *Config) withDefaults() {
	if c.MaxConcurrentLaunches <= 0 {
		c.MaxConcurrentLaunches = 2
	}
	if c.LaunchTimeout <= 0 {
		c.LaunchTimeout = 60 * time.Second
	}
	if c.KillGrace <= 0 {
		c.KillGrace = 10 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 100 * time.Millisecond
	}
	if c.ReservationTTL <= 0 {
		c.ReservationTTL = 24 * time.Hour
	}
	if c.InstanceID == "" {
		c.InstanceID = "sparkgate"
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = 5 * time.Second
	}
}

// Launcher is what the manager needs of the launcher: building commands under the submission
// policy, and starting, finding, signalling and forgetting applications by tag. The local
// process launcher implements it; cluster managers (YARN, Kubernetes) will too.
type Launcher interface {
	Command(spec *launcher.Spec, tag string) ([]string, error)
	Start(ctx context.Context, tag string, argv []string, extraEnv ...string) (int, error)
	Inspect(tag string) (supervisor.Status, *supervisor.Exit, error)
	Signal(tag string, knownPID int, sig syscall.Signal) (bool, error)
	LogPath(tag string) string
	Note(tag, line string) error
}

var _ Launcher = (*launcher.Launcher)(nil)

// Manager runs batch sessions. Start it before use and Stop it to end its goroutines; the
// Spark applications themselves keep running.
type Manager struct {
	cfg      Config
	store    store.Store
	launcher Launcher
	logs     *logfile.Index
	metrics  *metrics.Metrics
	log      *slog.Logger
	now      func() time.Time

	queueMu  sync.Mutex
	queue    []int64
	queued   map[int64]bool
	queueSig chan struct{}

	// stripes serialise launch and delete of one batch within this process: DELETE must see
	// the pid of a supervisor this process is starting at that moment.
	stripes [64]sync.Mutex

	mu       sync.Mutex
	spawned  map[int64]int // batch id -> pid of a supervisor this process started
	watching map[int64]bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a manager; call Start.
func New(cfg Config, st store.Store, l Launcher, logs *logfile.Index, m *metrics.Metrics, log *slog.Logger) *Manager {
	cfg.withDefaults()
	if m == nil {
		m = metrics.New()
	}
	return &Manager{
		cfg: cfg, store: st, launcher: l, logs: logs, metrics: m, log: log, now: time.Now,
		queued: map[int64]bool{}, queueSig: make(chan struct{}, 1),
		spawned: map[int64]int{}, watching: map[int64]bool{},
	}
}

// Start recovers the unfinished batches this instance supervises, then starts the launch
// workers and the sweeper. It returns once recovery has been decided (not once applications
// finished). The instance's lease must be held already (instance.Join).
func (m *Manager) Start(ctx context.Context) error {
	m.ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
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
		m.wg.Go(m.launchWorker)
	}
	m.wg.Go(func() { periodic.Every(m.ctx, m.cfg.SweepInterval, func() bool { m.sweep(); return true }) })
	return nil
}

// Stop ends the manager's goroutines and waits for them. Applications keep running and are
// re-attached by whoever supervises them next.
func (m *Manager) Stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
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
		m.mu.Lock()
		watched := m.watching[sess.ID]
		m.mu.Unlock()
		if !watched && !sess.Deleted() {
			m.resumeLaunch(sess)
		}
	}
}

// Recover resumes supervising a batch of this instance, or one adopted from a peer: a running
// application is watched, a finished one recorded, a never-started one launched.
func (m *Manager) Recover(sess *store.Session) {
	st, exit, err := m.launcher.Inspect(sess.Tag)
	switch {
	case err != nil:
		m.log.Error("cannot inspect application; leaving batch as it is", "id", sess.ID, "tag", sess.Tag, "err", err)
	case st == supervisor.Finished:
		m.finish(sess.ID, exit)
	case st == supervisor.Running:
		m.markRunning(sess.ID, nil)
		m.watch(sess.ID, sess.Tag)
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
	}
	opts.Apply(p, req.Canonical(), m.cfg.ReservationTTL)
	if opts.Keyed() {
		// A replay answers from what was stored, without validating or creating again.
		sess, err := m.store.FindReplay(ctx, p)
		if err == nil {
			m.resumeLaunch(sess)
			m.metrics.Creates.WithLabelValues(string(store.KindBatch), "replayed").Inc()
			return &store.Created{Session: sess, Replayed: true}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, opts.Error(err, store.KindBatch, "", m.cfg.ReservationTTL)
		}
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	// Build the command once now so that policy errors are the client's 400, not a dead batch.
	if _, err := m.launcher.Command(specOf(req), "sparkgate-batch-0-check"); err != nil {
		return nil, err
	}
	if req.Name != nil {
		p.Name = *req.Name
	}
	if req.ProxyUser != nil {
		p.ProxyUser = *req.ProxyUser
	}
	created, err := m.store.CreateSession(ctx, p)
	if err != nil {
		return nil, opts.Error(err, store.KindBatch, p.Name, m.cfg.ReservationTTL)
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

// ReserveID reserves the next batch id for a later PUT /batches/{id} with the returned putKey.
func (m *Manager) ReserveID(ctx context.Context) (int64, string, error) {
	return idempotency.Reserve(ctx, m.store, store.KindBatch, m.now())
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

// Get finds a live batch by id or, when ref is not a number, by name.
func (m *Manager) Get(ctx context.Context, id int64, name string) (*store.Session, error) {
	if name != "" {
		return m.store.GetSessionByName(ctx, store.KindBatch, name)
	}
	return m.store.GetSession(ctx, store.KindBatch, id)
}

// List returns a page of live batches.
func (m *Manager) List(ctx context.Context, from, size int) (*store.Page, error) {
	return m.store.ListSessions(ctx, &store.ListParams{Kind: store.KindBatch, From: from, Size: size})
}

// Log returns lines [from, from+size) of the batch's whole log and the number of lines.
func (m *Manager) Log(sess *store.Session, from, size int) ([]string, int, error) {
	return m.logs.Lines(m.launcher.LogPath(sess.Tag), from, size)
}

// LogTail returns the last n lines of the batch's log.
func (m *Manager) LogTail(sess *store.Session, n int) ([]string, error) {
	// A finished batch's log is complete: finish() is recorded after the supervisor exited.
	return m.logs.Tail(m.launcher.LogPath(sess.Tag), n, sess.State.Terminal())
}

// Delete removes a batch from view and kills its application: SIGTERM to its process group
// now, SIGKILL after the grace period if it is still alive.
func (m *Manager) Delete(ctx context.Context, id int64) error {
	stripe := &m.stripes[id%int64(len(m.stripes))]
	stripe.Lock()
	defer stripe.Unlock()
	before, err := m.store.DeleteSession(ctx, store.KindBatch, id, m.now())
	if err != nil {
		return err
	}
	if before.State.Terminal() {
		return nil
	}
	m.metrics.Finished.WithLabelValues(string(store.StateKilled)).Inc()
	m.unqueue(id)
	m.mu.Lock()
	pid := m.spawned[id]
	m.mu.Unlock()
	if _, err := launcher.Kill(m.ctx, m.launcher, before.Tag, pid, m.cfg.KillGrace, m.cfg.PollInterval, m.wg.Go); err != nil {
		m.log.Warn("kill batch", "id", id, "err", err)
	}
	_ = m.launcher.Note(before.Tag, "batch deleted; application killed")
	return nil
}

func (m *Manager) enqueue(id int64) {
	m.queueMu.Lock()
	if !m.queued[id] {
		m.queued[id] = true
		m.queue = append(m.queue, id)
	}
	m.metrics.QueueDepth.Set(float64(len(m.queued)))
	m.queueMu.Unlock()
	select {
	case m.queueSig <- struct{}{}:
	default:
	}
}

func (m *Manager) unqueue(id int64) {
	m.queueMu.Lock()
	delete(m.queued, id)
	m.metrics.QueueDepth.Set(float64(len(m.queued)))
	m.queueMu.Unlock()
}

func (m *Manager) dequeue() (int64, bool) {
	m.queueMu.Lock()
	defer m.queueMu.Unlock()
	for len(m.queue) > 0 {
		id := m.queue[0]
		m.queue = m.queue[1:]
		if m.queued[id] {
			delete(m.queued, id)
			m.metrics.QueueDepth.Set(float64(len(m.queued)))
			return id, true
		}
	}
	return 0, false
}

// launchWorker takes queued batches one at a time; the number of workers is the bound on
// concurrent launches.
func (m *Manager) launchWorker() {
	for {
		id, ok := m.dequeue()
		if !ok {
			select {
			case <-m.ctx.Done():
				return
			case <-m.queueSig:
				continue
			}
		}
		if tag, pid := m.launch(id); tag != "" {
			m.awaitLaunchPhase(id, tag, pid)
		}
		// Pass the signal on: other workers may be waiting while the queue is not empty.
		select {
		case m.queueSig <- struct{}{}:
		default:
		}
	}
}

// launch starts the application of batch id unless it was already started, and returns its
// tag and the supervisor pid when this call started it.
func (m *Manager) launch(id int64) (string, int) {
	stripe := &m.stripes[id%int64(len(m.stripes))]
	stripe.Lock()
	defer stripe.Unlock()
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
	st, exit, err := m.launcher.Inspect(sess.Tag)
	switch {
	case err != nil:
		m.log.Error("launch: inspect application", "id", id, "err", err)
		m.retryLater(id)
		return "", 0
	case st == supervisor.Finished:
		m.finish(id, exit)
		return "", 0
	case st == supervisor.Running:
		m.markRunning(id, nil)
		m.watch(id, sess.Tag)
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
	pid, err := m.launcher.Start(ctx, sess.Tag, argv)
	if err != nil {
		if ctx.Err() != nil {
			return "", 0 // shutting down; the next start will look for the tag again
		}
		m.fail(id, sess.Tag, err.Error())
		return "", 0
	}
	m.mu.Lock()
	m.spawned[id] = pid
	m.mu.Unlock()
	m.metrics.Launches.Inc()
	m.markRunning(id, &store.Launch{SupervisorPID: pid, LaunchedAt: m.now()})
	m.watch(id, sess.Tag)
	m.log.Info("launched batch", "id", id, "tag", sess.Tag, "supervisor_pid", pid)
	return sess.Tag, pid
}

func (m *Manager) retryLater(id int64) {
	m.wg.Go(func() {
		select {
		case <-m.ctx.Done():
		case <-time.After(time.Second):
			m.enqueue(id)
		}
	})
}

var (
	// Application ids as YARN, standalone and Kubernetes print them.
	appIDPattern = regexp.MustCompile(`\b(application_\d+_\d+|app-\d{14}-\d{4,}|spark-[0-9a-f]{32})\b`)
	uiPattern    = regexp.MustCompile(`(?:started at|Spark web UI at) (https?://\S+)`)
)

// sparkUpMarker appears once the driver's SparkContext is up, in Spark 3.5 and 4.x alike.
const sparkUpMarker = "SparkContext: Submitted application:"

// awaitLaunchPhase holds the caller's launch slot until the application's SparkContext is up,
// it ended, or the launch timeout passed, reading the app id and UI URL on the way.
func (m *Manager) awaitLaunchPhase(id int64, tag string, pid int) {
	path := m.launcher.LogPath(tag)
	timeout := time.NewTimer(m.cfg.LaunchTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(m.cfg.PollInterval)
	defer tick.Stop()
	read, up := 0, false
	var appID string
	var info store.AppInfo
	for !up {
		select {
		case <-m.ctx.Done():
			return
		case <-timeout.C:
			return
		case <-tick.C:
		}
		lines, total, err := m.logs.Lines(path, read, 10000)
		if err != nil {
			return
		}
		read = min(total, read+len(lines))
		for _, line := range lines {
			if match := appIDPattern.FindStringSubmatch(line); match != nil && appID == "" {
				appID = match[1]
			}
			if match := uiPattern.FindStringSubmatch(line); match != nil && info.SparkUIURL == "" {
				info.SparkUIURL = strings.TrimRight(match[1], ".,")
			}
			up = up || strings.Contains(line, sparkUpMarker)
		}
		if st, _, _ := m.launcher.Inspect(tag); st == supervisor.Finished {
			up = true
		}
	}
	if appID != "" || info.SparkUIURL != "" {
		p := &store.UpdateParams{Kind: store.KindBatch, ID: id, Now: m.now()}
		if appID != "" {
			p.AppID = &appID
		}
		if info.SparkUIURL != "" {
			p.AppInfo = &info
		}
		if _, err := m.store.UpdateSession(m.ctx, p); err != nil && !errors.Is(err, store.ErrNotFound) {
			m.log.Warn("record app id", "id", id, "err", err)
		}
	}
}

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
