package interactive

import (
	"context"
	"testing"

	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
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
