package interactive

import (
	"context"
	"testing"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
)

// A keyed statement retried after its session ended is answered with the statement, not
// refused: the client learns it was run. A new statement is still refused.
func TestKeyedStatementIsReplayedAfterTheSessionEnded(t *testing.T) {
	ctx := context.Background()
	m, sess := newIdleSession(t)
	code := "spark.sql('INSERT INTO t VALUES (1)')"
	req := &livy.CreateStatementRequest{Code: &code}
	key := &store.IdempotencyKey{Scope: "ann", Key: "0f8fad5b-d9cb-469f-a165-70867728950e"}
	first, err := m.AddStatementOnce(ctx, sess, req, key)
	if err != nil || first.Replayed {
		t.Fatalf("first keyed add = %+v, %v", first, err)
	}
	dead := store.StateDead
	ended, err := m.store.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: sess.ID, State: &dead, Now: m.now()})
	if err != nil {
		t.Fatal(err)
	}
	again, err := m.AddStatementOnce(ctx, ended, req, key)
	if err != nil || !again.Replayed || again.ID != first.ID {
		t.Errorf("a retry after the session ended = %+v, %v; want statement %d replayed", again, err, first.ID)
	}
	other := &store.IdempotencyKey{Scope: "ann", Key: "7c9e6679-7425-40de-944b-e07fc1f90ae7"}
	if st, err := m.AddStatementOnce(ctx, ended, req, other); errkind.Of(err) != errkind.Invalid {
		t.Errorf("a new keyed statement on an ended session = %+v, %v; want a 400", st, err)
	}
	if _, err := m.AddStatement(ctx, ended, req); errkind.Of(err) != errkind.Invalid {
		t.Errorf("a statement on an ended session: %v; want a 400", err)
	}
}
