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
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/idempotency"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/lifecycle"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/periodic"
	"github.com/sparkgate/sparkgate/internal/records"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/supervisor"
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
	// Limits pace the drivers: MaxConcurrentLaunches of them start at once (from spark-submit to
	// ready) while more sessions wait, starting, for a slot; LaunchTimeout frees a slot a start
	// holds too long.
	launcher.Limits
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

	mailbox  *mailbox
	apps     *tracking.Tracker // the drivers followed; made by Start
	starting chan struct{}     // a token per driver starting
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
		mailbox:  newMailbox(),
		starting: make(chan struct{}, cfg.MaxConcurrentLaunches), pollsEnded: make(chan struct{})}
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

// Recover resumes supervising a session of this instance, or one adopted from a peer (whose
// driver already polls whichever instance answers): a running driver is watched (it
// reconnects by itself), an ended one recorded, an unlaunched one launched.
func (m *Manager) Recover(sess *store.Session) {
	app, err := m.launcher.Inspect(m.ctx, sess.Tag)
	switch {
	case err != nil:
		m.log.Error("inspect session driver", "id", sess.ID, "err", err)
	case app.Status == supervisor.Finished:
		m.ended(sess.ID, sess.Tag, app.End)
	case app.Status == supervisor.Running:
		m.watch(sess.ID, sess.Tag)
	default:
		wait := sess.ResubmitWait(m.cfg.ResubmitGrace, m.now())
		m.life.Go(func() {
			if wait > 0 {
				m.log.Info("driver launched but not yet known to the cluster manager; waiting before launching again", "id", sess.ID, "wait", wait.Round(time.Second))
				select {
				case <-m.ctx.Done():
					return
				case <-time.After(wait):
				}
				if cur, err := m.store.GetSession(m.ctx, store.KindInteractive, sess.ID); err == nil && cur.Supervisor == m.cfg.InstanceID {
					m.Recover(cur) // it may have shown up meanwhile
				}
				return
			}
			m.launch(sess)
		})
	}
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

// launch starts, after a restart, the driver of a session whose create committed but whose
// driver never started: the secret was lost with the old server, so the session gets a new one.
func (m *Manager) launch(sess *store.Session) {
	secret := make([]byte, 24)
	rand.Read(secret)
	hash := hashSecret(hex.EncodeToString(secret))
	_, err := m.store.UpdateSession(m.ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: sess.ID,
		IfStates: []store.State{store.StateStarting}, SecretHash: &hash, Now: m.now()})
	if err != nil {
		m.log.Warn("relaunch session driver", "id", sess.ID, "err", err)
		return
	}
	m.launchWithSecret(sess, hex.EncodeToString(secret))
}

func (m *Manager) launchWithSecret(sess *store.Session, secret string) {
	var req livy.CreateInteractiveRequest
	if err := json.Unmarshal(sess.Request, &req); err != nil {
		m.fail(sess.ID, "stored request is unreadable: "+err.Error())
		return
	}
	argv, err := m.launcher.Command(m.spec(&req), sess.Tag)
	if err != nil {
		m.fail(sess.ID, "refused at launch: "+err.Error())
		return
	}
	select {
	case m.starting <- struct{}{}:
	case <-m.ctx.Done():
		return // the next start of this instance launches it
	}
	if cur, err := m.store.GetSession(m.ctx, store.KindInteractive, sess.ID); err != nil || cur.State != store.StateStarting {
		<-m.starting // deleted while it waited for a slot
		return
	}
	kind, _ := livy.SessionKind(req.Kind)
	dir := filepath.Dir(m.launcher.LogPath(sess.Tag))
	err = ensureDriverProgram(m.driverFile)
	var secretEnv string
	if err == nil {
		secretEnv, err = m.secretFor(dir, secret)
	}
	var pid int
	if err == nil {
		env := []string{EnvURL + "=" + m.cfg.DriverURL, fmt.Sprintf("%s=%d", EnvSessionID, sess.ID), secretEnv,
			EnvKind + "=" + kind, EnvWorkDir + "=" + dir, fmt.Sprintf("%s=%g", EnvGatewayTimeout, m.cfg.GatewayTimeout.Seconds()),
			fmt.Sprintf("%s=%d", EnvMaxOutputBytes, m.cfg.MaxOutputBytes)}
		if m.cfg.DriverCAFile != "" {
			env = append(env, EnvCAFile+"="+m.cfg.DriverCAFile)
		}
		pid, err = m.launcher.Start(m.ctx, sess.Tag, argv, env...)
	}
	if err != nil {
		<-m.starting
		m.fail(sess.ID, err.Error())
		return
	}
	// when it was launched tells an adopter on another host how long to wait before it
	// launches the driver again (Session.ResubmitWait)
	launched := &store.Launch{SupervisorPID: pid, LaunchedAt: m.now()}
	if _, err := m.store.UpdateSession(m.ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: sess.ID, Launch: launched, Now: m.now()}); err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.Warn("record the driver's launch", "id", sess.ID, "err", err)
	}
	m.watch(sess.ID, sess.Tag)
	m.life.Go(func() { m.holdWhileStarting(sess.ID) })
}

// secretFor is how the driver of the session whose directory is dir gets its secret: a file
// that only it reads, and removes (EnvSecretFile); or the secret itself for a driver in the
// cluster, which cannot read this host's disk.
func (m *Manager) secretFor(dir, secret string) (string, error) {
	if m.cfg.RemoteDrivers {
		return EnvSecret + "=" + secret, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "driver.secret")
	if err := supervisor.WriteFileAtomic(path, []byte(secret)); err != nil {
		return "", fmt.Errorf("write the driver's secret: %w", err)
	}
	return EnvSecretFile + "=" + path, nil
}

// holdWhileStarting keeps a start slot until the session is no longer starting (its driver
// is ready, or it ended) or LaunchTimeout passed.
func (m *Manager) holdWhileStarting(id int64) {
	defer func() { <-m.starting }()
	deadline := m.now().Add(m.cfg.LaunchTimeout)
	periodic.Every(m.ctx, m.cfg.PollInterval, func() bool {
		sess, err := m.store.GetSession(m.ctx, store.KindInteractive, id)
		return err == nil && sess.State == store.StateStarting && m.now().Before(deadline)
	})
}

func (m *Manager) fail(id int64, reason string) {
	dead := store.StateDead
	_, err := store.UpdateUntilRecorded(m.ctx, m.store, &store.UpdateParams{Kind: store.KindInteractive, ID: id,
		IfStates: []store.State{store.StateStarting, store.StateIdle, store.StateBusy}, State: &dead, Reason: &reason, Now: m.now()}, m.log)
	if err != nil && !errors.Is(err, store.ErrStateConflict) && !errors.Is(err, store.ErrNotFound) {
		m.log.Error("record session failure", "id", id, "err", err)
	}
	m.log.Warn("session failed", "id", id, "reason", reason)
}

// watch follows a driver until it exits: a session whose driver ended is dead (unless killed).
func (m *Manager) watch(id int64, tag string) {
	m.apps.Follow(id, tag, tracking.Events{
		Ended: func(end *launcher.End) { m.ended(id, tag, end) },
		Observed: func(app launcher.App) {
			p := store.AppSeen(store.KindInteractive, id, app.ID, store.AppInfo{SparkUIURL: app.SparkUIURL, DriverLogURL: app.DriverLogURL}, m.now())
			if _, err := m.store.UpdateSession(m.ctx, p); err != nil && !errors.Is(err, store.ErrNotFound) {
				m.log.Warn("record app id", "id", id, "err", err)
			}
		},
	})
}

// ended records a session whose driver ended: killed when the cluster manager killed it, dead
// otherwise (whatever its exit status: a session has no success).
func (m *Manager) ended(id int64, tag string, end *launcher.End) {
	state := store.StateDead
	if end.Outcome == launcher.Killed {
		state = store.StateKilled
	}
	reason := "the session's driver ended"
	if end.Reason != "" {
		reason += ": " + end.Reason
	}
	code := end.ExitCode
	m.removeUploads(id, tag)
	_, err := store.UpdateUntilRecorded(m.ctx, m.store, &store.UpdateParams{Kind: store.KindInteractive, ID: id,
		IfStates: []store.State{store.StateStarting, store.StateIdle, store.StateBusy}, State: &state,
		Reason: &reason, ExitCode: &code, Now: m.now()}, m.log)
	if err != nil && !errors.Is(err, store.ErrStateConflict) && !errors.Is(err, store.ErrNotFound) {
		m.log.Error("record session end", "id", id, "err", err)
	}
	m.mailbox.notify(id)
}

// Request decodes the create request a session was made with, and its kind.
func Request(sess *store.Session) (*livy.CreateInteractiveRequest, string) {
	var req livy.CreateInteractiveRequest
	_ = json.Unmarshal(sess.Request, &req)
	kind, _ := livy.SessionKind(req.Kind)
	return &req, kind
}

// Delete kills the session's driver and removes the session from view.
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
	if _, err := launcher.Kill(m.ctx, m.launcher, before.Tag, 0, m.cfg.KillGrace, m.cfg.PollInterval, m.life.Go); err != nil {
		m.log.Warn("kill session driver", "id", id, "err", err)
	}
	return nil
}

// AddStatement queues code on a session that is alive.
func (m *Manager) AddStatement(ctx context.Context, sess *store.Session, req *livy.CreateStatementRequest) (*store.Statement, error) {
	if req.Code == nil {
		return nil, errkind.Invalidf("code is required")
	}
	id := sess.ID
	if sess.State.Terminal() {
		return nil, errkind.Invalidf("Session %d is %s: it runs no more statements", id, sess.State)
	}
	_, sessionKind := Request(sess)
	kind, err := livy.StatementKind(sessionKind, req.Kind)
	if err != nil {
		return nil, err
	}
	st, err := m.store.AddStatement(ctx, &store.AddStatementParams{SessionID: id, Code: *req.Code, Kind: kind,
		MaxStatements: m.cfg.MaxStatements, Now: m.now()})
	if errors.Is(err, store.ErrLimit) {
		return nil, errkind.Wrap(errkind.TooManyRequests, err,
			"session %d has run %d statements, the most one session may (--max-statements-per-session); start a new session", id, m.cfg.MaxStatements)
	}
	if err != nil {
		return nil, err
	}
	m.mailbox.notify(id)
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
