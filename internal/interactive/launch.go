package interactive

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/periodic"
	"github.com/sparkgate/sparkgate/internal/runner"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/supervisor"
	"github.com/sparkgate/sparkgate/internal/tracking"
)

// A driver's life, from its start to its end, as the session sees it.

// neverStartedGrace is how long a started driver may show no sign of its supervisor before it
// is started again (the directory makes a second start safe).
const neverStartedGrace = 5 * time.Second

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
		m.watch(sess.ID, sess.Tag, m.now())
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

// launch starts, after a restart, the driver of a session whose create committed but whose
// driver never started: the secret was lost with the old server, so the session gets a new one.
func (m *Manager) launch(sess *store.Session) {
	if secret, ok := m.newSecret(sess.ID); ok {
		m.launchWithSecret(sess, secret)
	}
}

// newSecret gives a starting session a new driver secret, and returns it; false when the
// session is not starting any more or the store failed.
func (m *Manager) newSecret(id int64) (string, bool) {
	b := make([]byte, 24)
	rand.Read(b)
	secret := hex.EncodeToString(b)
	hash := hashSecret(secret)
	_, err := m.store.UpdateSession(m.ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: id,
		IfStates: []store.State{store.StateStarting}, SecretHash: &hash, Now: m.now()})
	if err != nil {
		m.log.Warn("give the session's driver a new secret", "id", id, "err", err)
		return "", false
	}
	return secret, true
}

// launchWithSecret starts the driver of a starting session in a start slot, which it keeps
// until the session is ready (holdWhileStarting).
func (m *Manager) launchWithSecret(sess *store.Session, secret string) {
	if !m.slots.Take(m.ctx) {
		return // the next start of this instance launches it
	}
	if cur, err := m.store.GetSession(m.ctx, store.KindInteractive, sess.ID); err != nil || cur.State != store.StateStarting {
		m.slots.Give() // deleted while it waited for a slot
		return
	}
	if !m.startDriver(sess, secret, m.now()) {
		m.slots.Give()
		return
	}
	m.life.Go(func() { m.holdWhileStarting(sess.ID) })
}

// startDriver starts the driver of sess with secret and follows it; since is when its first
// start was, for the launch timeout. It reports false when no driver runs for the session:
// the start failed (the session is dead), or the session was deleted meanwhile.
func (m *Manager) startDriver(sess *store.Session, secret string, since time.Time) bool {
	var req livy.CreateInteractiveRequest
	if err := json.Unmarshal(sess.Request, &req); err != nil {
		m.fail(sess.ID, sess.Tag, "stored request is unreadable: "+err.Error())
		return false
	}
	argv, err := m.launcher.Command(m.spec(&req), sess.Tag)
	if err != nil {
		m.fail(sess.ID, sess.Tag, "refused at launch: "+err.Error())
		return false
	}
	kind, _ := livy.SessionKind(req.Kind)
	dir := filepath.Dir(m.launcher.LogPath(sess.Tag))
	err = ensureDriverProgram(m.driverFile)
	var secretEnv string
	if err == nil {
		secretEnv, err = m.secretFor(dir, secret)
	}
	var pid int
	wanted := true
	if err == nil {
		env := []string{EnvURL + "=" + m.cfg.DriverURL, fmt.Sprintf("%s=%d", EnvSessionID, sess.ID), secretEnv,
			EnvKind + "=" + kind, EnvWorkDir + "=" + dir, fmt.Sprintf("%s=%g", EnvGatewayTimeout, m.cfg.GatewayTimeout.Seconds()),
			fmt.Sprintf("%s=%d", EnvMaxOutputBytes, m.cfg.MaxOutputBytes)}
		if m.cfg.DriverCAFile != "" {
			env = append(env, EnvCAFile+"="+m.cfg.DriverCAFile)
		}
		pid, wanted, err = m.run.Start(m.ctx, sess.Tag, argv, env, runner.Record(m.store, store.KindInteractive, sess.ID))
	}
	if err != nil {
		if m.ctx.Err() == nil {
			m.fail(sess.ID, sess.Tag, err.Error())
		}
		return false
	}
	if !wanted {
		m.forgetSecret(sess.Tag)
		return false
	}
	// when it was launched tells an adopter on another host how long to wait before it
	// launches the driver again (Session.ResubmitWait)
	launched := &store.Launch{SupervisorPID: pid, LaunchedAt: m.now()}
	if _, err := m.store.UpdateSession(m.ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: sess.ID, Launch: launched, Now: m.now()}); err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.Warn("record the driver's launch", "id", sess.ID, "err", err)
	}
	m.watch(sess.ID, sess.Tag, since)
	return true
}

// restart starts again the driver of a session whose supervisor never started it (it met an
// instance's start that was lost); once the launch timeout passed since its first start, the
// session ends dead instead, with the reason, rather than stay starting for ever.
func (m *Manager) restart(id int64, tag string, since time.Time) {
	if waited := m.now().Sub(since); waited >= m.cfg.LaunchTimeout {
		m.fail(id, tag, fmt.Sprintf("the session's driver did not start within %s (--launch-timeout)", m.cfg.LaunchTimeout))
		return
	}
	sess, err := m.store.GetSession(m.ctx, store.KindInteractive, id)
	if err != nil || sess.State != store.StateStarting || sess.Tag != tag {
		return
	}
	m.log.Warn("the session's driver never started; starting it again", "id", id, "tag", tag)
	if secret, ok := m.newSecret(id); ok {
		m.startDriver(sess, secret, since)
	}
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
	path := filepath.Join(dir, secretFileName)
	if err := supervisor.WriteFileAtomic(path, []byte(secret)); err != nil {
		return "", fmt.Errorf("write the driver's secret: %w", err)
	}
	return EnvSecretFile + "=" + path, nil
}

// secretFileName is the file of the application's directory that hands a local driver its
// secret; the driver removes it once read.
const secretFileName = "driver.secret"

// forgetSecret removes the secret file of a driver that will never read it (it never started,
// or its session ended before it did).
func (m *Manager) forgetSecret(tag string) {
	if m.cfg.RemoteDrivers {
		return
	}
	_ = os.Remove(filepath.Join(filepath.Dir(m.launcher.LogPath(tag)), secretFileName))
}

// holdWhileStarting keeps a start slot until the session is no longer starting (its driver
// is ready, or it ended) or LaunchTimeout passed.
func (m *Manager) holdWhileStarting(id int64) {
	defer m.slots.Give()
	deadline := m.now().Add(m.cfg.LaunchTimeout)
	periodic.Every(m.ctx, m.cfg.PollInterval, func() bool {
		sess, err := m.store.GetSession(m.ctx, store.KindInteractive, id)
		return err == nil && sess.State == store.StateStarting && m.now().Before(deadline)
	})
}

func (m *Manager) fail(id int64, tag, reason string) {
	m.forgetSecret(tag)
	dead := store.StateDead
	_, err := store.UpdateUntilRecorded(m.ctx, m.store, &store.UpdateParams{Kind: store.KindInteractive, ID: id,
		IfStates: []store.State{store.StateStarting, store.StateIdle, store.StateBusy}, State: &dead, Reason: &reason, Now: m.now()}, m.log)
	if err != nil && !errors.Is(err, store.ErrStateConflict) && !errors.Is(err, store.ErrNotFound) {
		m.log.Error("record session failure", "id", id, "err", err)
	}
	m.log.Warn("session failed", "id", id, "reason", reason)
}

// watch follows a driver until it exits: a session whose driver ended is dead (unless
// killed); one whose driver never started is started again (restart). since is when the
// driver was first started.
func (m *Manager) watch(id int64, tag string, since time.Time) {
	m.apps.Follow(id, tag, tracking.Events{
		Ended: func(end *launcher.End) { m.ended(id, tag, end) },
		Observed: func(app launcher.App) {
			p := store.AppSeen(store.KindInteractive, id, app.ID, store.AppInfo{SparkUIURL: app.SparkUIURL, DriverLogURL: app.DriverLogURL}, m.now())
			if _, err := m.store.UpdateSession(m.ctx, p); err != nil && !errors.Is(err, store.ErrNotFound) {
				m.log.Warn("record app id", "id", id, "err", err)
			}
		},
		NeverStarted: func() { m.life.Go(func() { m.restart(id, tag, since) }) },
		StartGrace:   m.startGrace,
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
	m.forgetSecret(tag)
	m.mailbox.forget(id)
	_, err := store.UpdateUntilRecorded(m.ctx, m.store, &store.UpdateParams{Kind: store.KindInteractive, ID: id,
		IfStates: []store.State{store.StateStarting, store.StateIdle, store.StateBusy}, State: &state,
		Reason: &reason, ExitCode: &code, Now: m.now()}, m.log)
	if err != nil && !errors.Is(err, store.ErrStateConflict) && !errors.Is(err, store.ErrNotFound) {
		m.log.Error("record session end", "id", id, "err", err)
	}
	m.mailbox.notify(id)
}
