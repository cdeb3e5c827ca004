package interactive

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/store/storetest"

	"github.com/sparkgate/sparkgate/internal/idempotency"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/store"
)

// newIdleSession returns a manager on a real embedded store and an idle session of it.
func newIdleSession(t *testing.T) (*Manager, *store.Session) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	st := storetest.Embedded(t)
	fl := launchertest.New(t.TempDir())
	m := New(Config{DataDir: t.TempDir(), InstanceID: "me", PollWait: 50 * time.Millisecond}, st, fl, logfile.New(), log)
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	c, err := m.Create(ctx, &livy.CreateInteractiveRequest{}, idempotency.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Ready(ctx, c.Session, "local-1", "http://driver:4040"); err != nil {
		t.Fatal(err)
	}
	ready, err := st.GetSession(ctx, store.KindInteractive, c.Session.ID)
	if err != nil || ready.AppID != "local-1" || ready.AppInfo.SparkUIURL != "http://driver:4040" {
		t.Fatalf("after ready: %+v, %v; want the driver's app id and UI", ready, err)
	}
	return m, c.Session
}

func (m *Manager) mustState(t *testing.T, id, sid int64, want store.StatementState) {
	t.Helper()
	st, err := m.Statement(context.Background(), id, sid)
	if err != nil || st.State != want {
		t.Fatalf("statement %d: %v, %v; want %s", sid, st, err, want)
	}
}

func (m *Manager) mustSession(t *testing.T, id int64, want store.State) {
	t.Helper()
	sess, err := m.Get(context.Background(), id, "")
	if err != nil || sess.State != want {
		t.Fatalf("session: %v, %v; want %s", sess, err, want)
	}
}

// Cancel as Livy: a waiting statement is cancelled at once and never reaches the driver; a
// running one is cancelling until the driver gives up on it, then cancelled with its output;
// the session is idle again and runs the next statement.
func TestCancelWaitingAndRunningStatements(t *testing.T) {
	ctx := context.Background()
	m, sess := newIdleSession(t)
	code := "x"
	add := func() int64 {
		st, err := m.AddStatement(ctx, sess, &livy.CreateStatementRequest{Code: &code})
		if err != nil {
			t.Fatal(err)
		}
		return st.ID
	}
	first, second := add(), add()
	msg, err := m.Next(ctx, sess, Poll{})
	if err != nil || msg == nil || msg.Type != "statement" || msg.ID != first {
		t.Fatalf("first poll = %+v, %v", msg, err)
	}
	// A statement still running after a moment is recorded so, and its session busy.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st, _ := m.Statement(ctx, sess.ID, first); st.State == store.StatementRunning {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the handed-out statement was never recorded running")
		}
	}
	m.mustSession(t, sess.ID, store.StateBusy)
	if err := m.Cancel(ctx, sess.ID, second); err != nil {
		t.Fatal(err)
	}
	m.mustState(t, sess.ID, second, store.StatementCancelled)

	if err := m.Cancel(ctx, sess.ID, first); err != nil {
		t.Fatal(err)
	}
	m.mustState(t, sess.ID, first, store.StatementCancelling)
	msg, err = m.Next(ctx, sess, Poll{Running: &first})
	if err != nil || msg == nil || msg.Type != "cancel" || msg.ID != first {
		t.Fatalf("poll while running a cancelled statement = %+v, %v; want its cancel", msg, err)
	}
	if msg, err = m.Next(ctx, sess, Poll{Running: &first, CancelSeen: true}); msg != nil || err != nil {
		t.Fatalf("poll after the cancel was seen = %+v, %v; want nothing (the cancelled second never runs)", msg, err)
	}
	out := json.RawMessage(`{"status":"error","ename":"KeyboardInterrupt","evalue":"","traceback":[]}`)
	if err := m.Result(ctx, sess, first, out); err != nil {
		t.Fatal(err)
	}
	m.mustState(t, sess.ID, first, store.StatementCancelled)
	m.mustSession(t, sess.ID, store.StateIdle)

	third := add()
	msg, err = m.Next(ctx, sess, Poll{})
	if err != nil || msg == nil || msg.ID != third {
		t.Fatalf("the next statement after a cancel = %+v, %v", msg, err)
	}
	if err := m.Cancel(ctx, sess.ID, 99); err == nil {
		t.Errorf("cancel of an unknown statement succeeded")
	}
}

// A call (completion) reaches the driver in its poll, even while a statement runs, and the
// driver's answer returns to the caller.
func TestCallIsAnsweredBesideARunningStatement(t *testing.T) {
	ctx := context.Background()
	m, sess := newIdleSession(t)
	code := "import time; time.sleep(60)"
	st, _ := m.AddStatement(ctx, sess, &livy.CreateStatementRequest{Code: &code})
	if msg, _ := m.Next(ctx, sess, Poll{}); msg == nil || msg.ID != st.ID {
		t.Fatalf("poll = %+v", msg)
	}
	driver := make(chan error, 1)
	go func() {
		for {
			msg, err := m.Next(ctx, sess, Poll{Running: &st.ID})
			if err != nil {
				driver <- err
				return
			}
			if msg != nil && msg.Type == "call" {
				driver <- m.Answer(sess, msg.Call.ID, CallAnswer{Result: json.RawMessage(`["sc.parallelize"]`)})
				return
			}
		}
	}()
	src, cursor := "sc.paralle", 10
	got, err := m.Complete(ctx, sess, &livy.CompletionRequest{Code: &src, Cursor: &cursor})
	if err != nil || len(got) != 1 || got[0] != "sc.parallelize" {
		t.Errorf("Complete = %v, %v", got, err)
	}
	if err := <-driver; err != nil {
		t.Errorf("driver: %v", err)
	}
	bad := 11
	if _, err := m.Complete(ctx, sess, &livy.CompletionRequest{Code: &src, Cursor: &bad}); err == nil {
		t.Errorf("a cursor past the code is accepted")
	}
}

// An output binds to the statement handed to the driver: one for a statement still waiting
// in the queue (which whoever holds the secret could forge) is refused and stores nothing;
// the statement then runs as it would have.
func TestAnOutputForAStatementNotHandedOutIsRefused(t *testing.T) {
	ctx := context.Background()
	m, sess := newIdleSession(t)
	code := "x"
	st, err := m.AddStatement(ctx, sess, &livy.CreateStatementRequest{Code: &code})
	if err != nil {
		t.Fatal(err)
	}
	forged := json.RawMessage(`{"status":"ok","data":{"text/plain":"forged"}}`)
	if err := m.Result(ctx, sess, st.ID, forged); errkind.Of(err) != errkind.Conflict {
		t.Fatalf("an output for a waiting statement: %v, want a conflict", err)
	}
	m.mustState(t, sess.ID, st.ID, store.StatementWaiting)
	if msg, err := m.Next(ctx, sess, Poll{}); err != nil || msg == nil || msg.ID != st.ID {
		t.Fatalf("the statement after the refusal: %+v, %v; want it handed out", msg, err)
	}
	if err := m.Result(ctx, sess, st.ID, json.RawMessage(`{"status":"ok","data":{"text/plain":"real"}}`)); err != nil {
		t.Fatal(err)
	}
	m.mustState(t, sess.ID, st.ID, store.StatementAvailable)
}
