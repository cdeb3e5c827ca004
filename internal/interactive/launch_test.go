package interactive

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/idempotency"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

func newLaunchTestManager(t *testing.T, st store.Store, fl *launchertest.Fake, limits launcher.Limits) *Manager {
	t.Helper()
	limits.PollInterval = 5 * time.Millisecond
	m := New(Config{DataDir: t.TempDir(), DriverURL: "http://gw", InstanceID: "me", Limits: limits},
		st, fl, logfile.New(), slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

// A DELETE while the driver is being started (nothing runs yet for its kill to reach) still
// ends the driver: the launch reads the record again once the driver started.
func TestADeleteDuringTheDriversStartKillsIt(t *testing.T) {
	st, fl := storetest.Embedded(t), launchertest.New(t.TempDir())
	starting, release := fl.HoldStarts()
	m := newLaunchTestManager(t, st, fl, launcher.Limits{})
	created, err := m.Create(context.Background(), &livy.CreateInteractiveRequest{}, idempotency.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tag := <-starting
	if err := m.Delete(context.Background(), created.Session.ID); err != nil {
		t.Fatal(err)
	}
	release()
	launchertest.Eventually(t, "the kill of the driver that started after the DELETE", func() bool { return fl.Kills(tag) > 0 })
}

// A driver whose supervisor gave way (it never started) is started again; a session whose
// driver never starts ends dead with the reason after the launch timeout, never starting for
// ever.
func TestADriverThatNeverStartsIsRetriedThenDead(t *testing.T) {
	st, fl := storetest.Embedded(t), launchertest.New(t.TempDir())
	fl.OnStart = func(string) supervisor.Status { return supervisor.NotStarted }
	m := newLaunchTestManager(t, st, fl, launcher.Limits{LaunchTimeout: 300 * time.Millisecond})
	m.startGrace = 20 * time.Millisecond
	created, err := m.Create(context.Background(), &livy.CreateInteractiveRequest{}, idempotency.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, tag := created.Session.ID, created.Session.Tag
	var sess *store.Session
	launchertest.Eventually(t, "the session to end", func() bool {
		sess, err = st.GetSession(context.Background(), store.KindInteractive, id)
		return err == nil && sess.State.Terminal()
	})
	if sess.State != store.StateDead || !strings.Contains(sess.Reason, "did not start") {
		t.Errorf("session %s (%q), want dead with the reason", sess.State, sess.Reason)
	}
	if n := len(fl.Starts(tag)); n < 2 {
		t.Errorf("the driver was started %d times, want it started again after it gave way", n)
	}
}
