package interactive

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

// A statement handed to a driver whose answer never reached it (a proxy reset, the driver's
// timeout racing the answer) is handed out again when the driver polls running nothing, once it
// is recorded running too; a cancel of such a statement cancels it at once, since it never ran.
// Neither leaves the session busy for ever.
func TestAStatementWhoseHandOutWasLostIsHandedOutAgain(t *testing.T) {
	for _, cancelled := range []bool{false, true} {
		ctx := context.Background()
		m, sess := newIdleSession(t)
		code := "spark.sql('INSERT INTO t VALUES (1)')"
		st, err := m.AddStatement(ctx, sess, &livy.CreateStatementRequest{Code: &code})
		if err != nil {
			t.Fatal(err)
		}
		if msg, err := m.Next(ctx, sess, Poll{}); err != nil || msg == nil || msg.ID != st.ID {
			t.Fatalf("first poll = %+v, %v", msg, err) // this answer is the one lost
		}
		launchertest.Eventually(t, "the statement recorded running", func() bool {
			got, err := m.Statement(ctx, sess.ID, st.ID)
			return err == nil && got.State == store.StatementRunning
		})
		if cancelled {
			if err := m.Cancel(ctx, sess.ID, st.ID); err != nil {
				t.Fatal(err)
			}
			m.mustState(t, sess.ID, st.ID, store.StatementCancelling)
		}
		msg, err := m.Next(ctx, sess, Poll{}) // the driver runs nothing
		if err != nil {
			t.Fatal(err)
		}
		if cancelled {
			if msg != nil {
				t.Errorf("a cancelled statement whose hand-out was lost is handed out: %+v", msg)
			}
			m.mustState(t, sess.ID, st.ID, store.StatementCancelled)
			launchertest.Eventually(t, "the session idle", func() bool {
				got, err := m.Get(ctx, sess.ID, "")
				return err == nil && got.State == store.StateIdle
			})
			continue
		}
		if msg == nil || msg.Type != MessageStatement || msg.ID != st.ID || msg.Code != code {
			t.Fatalf("the driver polling with nothing running got %+v; want statement %d again", msg, st.ID)
		}
		// The driver runs it (or answers with the output it kept) and the session settles.
		if err := m.Result(ctx, sess, st.ID, []byte(`{"status":"ok","data":{"text/plain":"1"}}`)); err != nil {
			t.Fatal(err)
		}
		m.mustState(t, sess.ID, st.ID, store.StatementAvailable)
	}
}

// A call for a session whose driver has not polled yet (it is starting) waits for its first
// poll, and goes where the driver polls: posted here, it would wait unanswered while the driver
// polled a peer.
func TestACallWaitsForTheDriversFirstPollAndGoesWhereItPolls(t *testing.T) {
	ctx := context.Background()
	st := storetest.Embedded(t)
	m := New(Config{DataDir: t.TempDir(), InstanceID: "me"}, st, launchertest.New(t.TempDir()), logfile.New(), slog.New(slog.DiscardHandler))
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	c, err := st.CreateSession(ctx, &store.CreateParams{Kind: store.KindInteractive, State: store.StateStarting,
		Tag: "sparkgate-session-{id}-x", Supervisor: "peer", Request: []byte(`{"kind":"pyspark"}`), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond) // the driver's first poll reaches the peer
		st.RenewLease(ctx, &store.LeaseParams{InstanceID: "peer", Addr: "peer.example:8998", LeaseUntil: time.Now().Add(time.Minute)})
		peer := "peer"
		st.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: c.Session.ID, PolledBy: &peer, Now: time.Now()})
	}()
	addr, err := m.CallPeer(ctx, c.Session)
	if err != nil || addr != "peer.example:8998" {
		t.Fatalf("CallPeer of a starting session = %q, %v; want the peer its driver polls", addr, err)
	}
}
