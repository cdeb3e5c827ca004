package interactive

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
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

// A session whose create committed but whose driver never started (the server died between
// the two) gets its driver on the next start, with a new secret that the store knows.
func TestRestartLaunchesANeverStartedDriverWithANewSecret(t *testing.T) {
	ctx := context.Background()
	st := storetest.Embedded(t)
	c, err := st.CreateSession(ctx, &store.CreateParams{Kind: store.KindInteractive, State: store.StateStarting,
		Tag: "sparkgate-session-{id}-x", Supervisor: "me", SecretHash: "lost-with-the-old-server",
		Request: []byte(`{"kind":"pyspark"}`), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	fl := launchertest.New(t.TempDir())
	m := New(Config{DataDir: t.TempDir(), DriverURL: "http://gw", InstanceID: "me", Limits: launcher.Limits{PollInterval: 5 * time.Millisecond}},
		st, fl, logfile.New(), slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	tag := c.Session.Tag
	for deadline := time.Now().Add(5 * time.Second); len(fl.Starts(tag)) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the driver was never started")
		}
	}
	if fl.Env(EnvSecret) != "" {
		t.Error("the driver's secret is in its environment, which every process of the OS user reads")
	}
	secretFile := fl.Env(EnvSecretFile)
	if fi, err := os.Stat(secretFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the driver's secret file %q: %v, %v; want a 0600 file", secretFile, fi, err)
	}
	b, _ := os.ReadFile(secretFile)
	secret := string(b)
	if _, err := m.Authenticate(ctx, c.Session.ID, secret); err != nil {
		t.Errorf("the new driver's secret is refused: %v", err)
	}
	if _, err := m.Authenticate(ctx, c.Session.ID, "lost-with-the-old-server"); err == nil {
		t.Errorf("a wrong secret is accepted")
	}
}

// Drivers start a few at a time: a session waits, starting, until an earlier one is ready.
func TestDriversStartAFewAtATime(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	st := storetest.Embedded(t)
	fl := launchertest.New(t.TempDir())
	m := New(Config{DataDir: t.TempDir(), InstanceID: "me", Limits: launcher.Limits{PollInterval: 5 * time.Millisecond, MaxConcurrentLaunches: 1}},
		st, fl, logfile.New(), log)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	started := func() int {
		return fl.Started()
	}
	first, err := m.Create(ctx, &livy.CreateInteractiveRequest{}, idempotency.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, &livy.CreateInteractiveRequest{}, idempotency.Options{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := started(); n != 1 {
		t.Fatalf("%d drivers started with one slot, want 1", n)
	}
	if err := m.Ready(ctx, first.Session, "local-1", ""); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); started() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second driver never started after the first was ready")
		}
	}
}

// outageStore is a store whose session updates fail as unavailable while down is set.
type outageStore struct {
	store.Store
	down atomic.Bool
}

func (s *outageStore) UpdateSession(ctx context.Context, p *store.UpdateParams) (*store.Session, error) {
	if s.down.Load() {
		return nil, store.ErrUnavailable
	}
	return s.Store.UpdateSession(ctx, p)
}

// A driver that dies while the store is out is recorded dead once the store is back: the
// outcome is retried, never dropped with the session left idle.
func TestDriverDeathDuringAStoreOutageIsRecorded(t *testing.T) {
	ctx := context.Background()
	bst := storetest.Embedded(t)
	st := &outageStore{Store: bst}
	c, err := st.CreateSession(ctx, &store.CreateParams{Kind: store.KindInteractive, State: store.StateIdle,
		Tag: "sparkgate-session-{id}-x", Supervisor: "me", Request: []byte(`{"kind":"pyspark"}`), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	tag := c.Session.Tag
	fl := launchertest.New(t.TempDir())
	fl.SetStatus(tag, supervisor.Running)
	m := New(Config{DataDir: t.TempDir(), DriverURL: "http://gw", InstanceID: "me", Limits: launcher.Limits{PollInterval: 5 * time.Millisecond}},
		st, fl, logfile.New(), slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError})))
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	st.down.Store(true)
	fl.SetStatus(tag, supervisor.Finished)
	time.Sleep(100 * time.Millisecond) // the watcher sees the end and cannot record it
	st.down.Store(false)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		sess, err := st.GetSession(ctx, store.KindInteractive, c.Session.ID)
		if err == nil && sess.State == store.StateDead {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the outage the session is %v (%v), want dead", sess.State, err)
		}
	}
}

// A driver launched (by an instance on another host) that neither this instance nor the
// cluster manager sees yet is launched again only after the resubmit grace; and a launch is
// recorded, so that an adopter can tell.
func TestAnUnseenDriverLaunchWaitsForTheResubmitGrace(t *testing.T) {
	ctx := context.Background()
	st := storetest.Embedded(t)
	c, err := st.CreateSession(ctx, &store.CreateParams{Kind: store.KindInteractive, State: store.StateStarting,
		Tag: "sparkgate-session-{id}-x", Supervisor: "me", Request: []byte(`{"kind":"pyspark"}`), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	launched := time.Now()
	if _, err := st.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: c.Session.ID,
		Launch: &store.Launch{SupervisorPID: 4242, LaunchedAt: launched}, Now: launched}); err != nil {
		t.Fatal(err)
	}
	fl := launchertest.New(t.TempDir())
	m := New(Config{DataDir: t.TempDir(), DriverURL: "http://gw", InstanceID: "me",
		Limits: launcher.Limits{PollInterval: 5 * time.Millisecond, ResubmitGrace: 300 * time.Millisecond}},
		st, fl, logfile.New(), slog.New(slog.DiscardHandler))
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	for deadline := time.Now().Add(5 * time.Second); len(fl.Starts(c.Session.Tag)) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the driver was never launched again")
		}
	}
	if waited := time.Since(launched); waited < 300*time.Millisecond {
		t.Errorf("launched again %s after the first launch, within the grace", waited)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		sess, err := st.GetSession(ctx, store.KindInteractive, c.Session.ID)
		if err == nil && sess.Launch != nil && sess.Launch.SupervisorPID != 4242 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new launch is not recorded: %+v, %v", sess.Launch, err)
		}
	}
}
