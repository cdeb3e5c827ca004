// Package interactive owns interactive sessions: their driver application (a program shipped
// with sparkgate that spark-submit starts), their statements, and the channel the driver pulls
// its work through. The driver long-polls the gateway; the gateway never dials in, so a driver
// outlives a server restart and carries on with the next server.
package interactive

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/idempotency"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/lifecycle"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/records"
	"github.com/sparkgate/sparkgate/internal/runner"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/tracking"
)

//go:embed driver/sparkgate_driver.py
var driverProgram []byte

// Launcher is what sessions need of where applications run (launcher.Backend).
type Launcher = launcher.Backend

// Config tunes the manager.
type Config struct {
	// DataDir receives the driver program, checked against its hash before every launch.
	DataDir string
	// DriverURL is how drivers reach the gateway (any instance).
	DriverURL  string
	InstanceID string
	// Limits pace the drivers: a driver takes one of Slots from spark-submit to ready while
	// more sessions wait, starting, for one; LaunchTimeout frees a slot a start holds too long.
	launcher.Limits
	// Slots are the instance's launch slots, shared with the batches (MaxConcurrentLaunches of
	// the manager's own when nil).
	Slots *runner.Slots
	// PollWait is how long a driver's poll waits for a statement before an empty answer.
	PollWait time.Duration
	// Bounds are what one user may hold, and how long a reserved id waits for its PUT.
	Bounds idempotency.Bounds
	// MaxStatements is the most statements one session may run (0: no bound).
	MaxStatements int
	// MaxOutputBytes bounds the output of one statement, which the driver cuts to fit
	// (DefaultMaxOutputBytes).
	MaxOutputBytes int64
	// MaxSessionUploadBytes bounds the bytes of the files uploaded to one session
	// (DefaultMaxSessionUploadBytes).
	MaxSessionUploadBytes int64
	Timeouts              Timeouts
	// SweepInterval is how often timeouts are checked.
	SweepInterval time.Duration
	// GatewayTimeout is how long a driver that reaches no gateway keeps trying before it exits.
	GatewayTimeout time.Duration
	// RemoteDrivers says that drivers run in the cluster (YARN cluster mode), where the
	// gateway's disk is out of their reach: they download the local files added to them.
	RemoteDrivers bool
	// DriversApart says that drivers run as an OS user of their own (--app-user), to whom the
	// gateway's files are closed: like remote drivers, they download the local files added
	// to them (through their channel, which checks what they may have).
	DriversApart bool
	// DriverCAFile, when set, holds the CAs drivers trust for an https:// DriverURL.
	DriverCAFile string
}

// Manager runs interactive sessions. Start it before use and Stop it to end its goroutines;
// the drivers keep running.
type Manager struct {
	records.Reader // Get, List, Log, LogTail
	cfg            Config
	store          store.Store
	launcher       Launcher
	log            *slog.Logger
	now            func() time.Time // the clock; tests may set their own
	driverFile     string

	mailbox *mailbox
	apps    *tracking.Tracker // the drivers followed; made by Start
	run     *runner.Runner    // starts and kills them; made by Start
	slots   *runner.Slots     // drivers in their launch phase (Config.Slots)
	// startGrace is how long a started driver may show no sign of its supervisor before it
	// is started again (neverStartedGrace; tests shorten it).
	startGrace time.Duration
	// uploadsChecked serialises the checks of the sessions' uploads against their bound.
	uploadsChecked sync.Mutex

	// pollsEnded is closed by EndPolls: long polls and calls answer at once from then on.
	pollsEnded chan struct{}
	endPolls   sync.Once

	ctx  context.Context
	life lifecycle.Group
}

// The defaults of Config's bounds (the server's flags default to them too).
const (
	DefaultMaxOutputBytes        = 1 << 20
	DefaultMaxSessionUploadBytes = 2 << 30
)

// New returns a manager; call Start.
func New(cfg Config, st store.Store, l Launcher, logs *logfile.Index, log *slog.Logger) *Manager {
	cfg.Limits = cfg.Limits.WithDefaults()
	if cfg.Slots == nil {
		cfg.Slots = runner.NewSlots(cfg.MaxConcurrentLaunches)
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = 20 * time.Second
	}
	cfg.Bounds = cfg.Bounds.WithDefaults()
	if cfg.MaxOutputBytes <= 0 {
		cfg.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if cfg.MaxSessionUploadBytes <= 0 {
		cfg.MaxSessionUploadBytes = DefaultMaxSessionUploadBytes
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = time.Second
	}
	if cfg.GatewayTimeout <= 0 {
		cfg.GatewayTimeout = 15 * time.Minute
	}
	return &Manager{
		Reader: records.Reader{Kind: store.KindInteractive, Store: st, Logs: logs, LogPath: l.LogPath},
		cfg:    cfg, store: st, launcher: l, log: log, now: time.Now,
		mailbox: newMailbox(), startGrace: neverStartedGrace,
		slots: cfg.Slots, pollsEnded: make(chan struct{})}
}

// EndPolls answers every waiting and future driver poll at once, empty, and every waiting
// call with "unavailable": a server shutting down calls it first, so that no long poll holds
// up its HTTP server's drain. The drivers poll again, and reach the next server.
func (m *Manager) EndPolls() {
	m.endPolls.Do(func() { close(m.pollsEnded) })
}

// Start writes the driver program (checked again before every launch) and resumes the
// sessions this instance supervises: running drivers are watched (they reconnect by
// themselves), unlaunched ones are launched.
func (m *Manager) Start(ctx context.Context) error {
	m.ctx = m.life.Start(ctx)
	m.apps = tracking.New(&m.life, m.launcher, m.cfg.FollowInterval, m.log)
	m.run = runner.New(&m.life, m.launcher, m.cfg.Limits, m.log)
	m.driverFile = driverProgramPath(m.cfg.DataDir)
	if err := ensureDriverProgram(m.driverFile); err != nil {
		return err
	}
	active, err := m.store.ListActive(ctx, store.KindInteractive)
	if err != nil {
		return fmt.Errorf("recover sessions: %w", err)
	}
	for _, sess := range active {
		if sess.Supervisor == m.cfg.InstanceID || sess.Supervisor == "" {
			m.Recover(sess)
		}
	}
	m.life.Go(func() { m.sweepTimeouts(m.cfg.SweepInterval) })
	return nil
}

// Stop ends the manager's goroutines; drivers keep running and keep polling.
func (m *Manager) Stop() {
	m.life.Stop()
}

// Create validates req, stores the session and launches its driver. With a request id or a
// reserved id (LIVY-782), a repeat of the same request returns the session created first
// (Replayed) and starts nothing.
func (m *Manager) Create(ctx context.Context, req *livy.CreateInteractiveRequest, opts idempotency.Options) (*store.Created, error) {
	secret := make([]byte, 24)
	rand.Read(secret)
	p := &store.CreateParams{
		Kind: store.KindInteractive, State: store.StateStarting, Supervisor: m.cfg.InstanceID,
		Tag:        "sparkgate-session-{id}-" + launcher.RandomSuffix(),
		SecretHash: hashSecret(hex.EncodeToString(secret)), Now: m.now(),
		Name: livy.Value(req.Name), ProxyUser: livy.Value(req.ProxyUser),
	}
	created, err := idempotency.Create(ctx, m.store, p, req.Canonical(), opts, m.cfg.Bounds, func() error {
		if err := req.Validate(); err != nil {
			return err
		}
		_, err := m.launcher.Command(m.spec(req), "sparkgate-session-0-check")
		return err
	})
	if err != nil {
		return nil, err
	}
	if !created.Replayed {
		sess := created.Session
		m.life.Go(func() { m.launchWithSecret(sess, hex.EncodeToString(secret)) })
	}
	return created, nil
}

// ReserveID reserves the next session id for a later PUT /sessions/{id}.
func (m *Manager) ReserveID(ctx context.Context, owner string) (int64, string, error) {
	return idempotency.Reserve(ctx, m.store, store.KindInteractive, owner, m.now(), m.cfg.Bounds)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func (m *Manager) spec(req *livy.CreateInteractiveRequest) *launcher.Spec {
	s := launcher.SpecOf(m.driverFile, req.Submission())
	s.ServerFile = true
	return s
}

// Request decodes the create request a session was made with, and its kind.
func Request(sess *store.Session) (*livy.CreateInteractiveRequest, string) {
	var req livy.CreateInteractiveRequest
	_ = json.Unmarshal(sess.Request, &req)
	kind, _ := livy.SessionKind(req.Kind)
	return &req, kind
}

// Delete kills the session's driver and removes the session from view. The deletion is on the
// record first: a start under way on any instance reads it once the driver started, and
// kills it (runner.Start).
func (m *Manager) Delete(ctx context.Context, id int64) error {
	before, err := m.store.DeleteSession(ctx, store.KindInteractive, id, m.now())
	if err != nil {
		return err
	}
	m.mailbox.notify(id)
	m.removeUploads(id, before.Tag)
	if before.State.Terminal() {
		return nil
	}
	if _, err := m.run.Kill(before.Tag); err != nil {
		m.log.Warn("kill session driver", "id", id, "err", err)
	}
	return nil
}

// AddStatement queues code on a session that is alive.
func (m *Manager) AddStatement(ctx context.Context, sess *store.Session, req *livy.CreateStatementRequest) (*store.Statement, error) {
	return m.AddStatementOnce(ctx, sess, req, nil)
}

// AddStatementOnce queues code on a session that is alive, once per key when key is set: a
// repeat under the same key (the user's requestId) answers the statement queued first, with
// Replayed set, and neither queues nor hands anything to the driver again.
func (m *Manager) AddStatementOnce(ctx context.Context, sess *store.Session, req *livy.CreateStatementRequest,
	key *store.IdempotencyKey) (*store.Statement, error) {
	if req.Code == nil {
		return nil, errkind.Invalidf("code is required")
	}
	id := sess.ID
	ended := sess.State.Terminal()
	endedErr := func() error { return errkind.Invalidf("Session %d is %s: it runs no more statements", id, sess.State) }
	if ended && key == nil {
		return nil, endedErr()
	}
	_, sessionKind := Request(sess)
	kind, err := livy.StatementKind(sessionKind, req.Kind)
	if err != nil {
		return nil, err
	}
	// An ended session still answers a retry of a statement it took: the client learns that it ran.
	st, err := m.store.AddStatement(ctx, &store.AddStatementParams{SessionID: id, Code: *req.Code, Kind: kind, Key: key,
		ReplayOnly: ended, MaxStatements: m.cfg.MaxStatements, Now: m.now()})
	switch {
	case ended && errors.Is(err, store.ErrStateConflict):
		return nil, endedErr()
	case errors.Is(err, store.ErrLimit):
		return nil, errkind.Wrap(errkind.TooManyRequests, err,
			"session %d has run %d statements, the most one session may (--max-statements-per-session); start a new session", id, m.cfg.MaxStatements)
	case errors.Is(err, store.ErrKeyMismatch):
		return nil, errkind.Wrap(errkind.Unprocessable, err,
			"requestId %s was already used for a different statement of session %d; a retry must repeat the first statement's code and kind exactly, and a new statement needs a new requestId", key.Key, id)
	case err != nil:
		return nil, err
	}
	if !st.Replayed {
		m.mailbox.notify(id)
	}
	return st, nil
}

// Statements returns a page of a session's statements.
func (m *Manager) Statements(ctx context.Context, p *store.ListStatementsParams) (*store.StatementPage, error) {
	return m.store.ListStatements(ctx, p)
}

// Statement returns one statement of a session.
func (m *Manager) Statement(ctx context.Context, id, sid int64) (*store.Statement, error) {
	st, err := m.store.GetStatement(ctx, id, sid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errkind.Wrap(errkind.NotFound, err, "Statement %d of session %d not found.", sid, id)
	}
	return st, err
}
