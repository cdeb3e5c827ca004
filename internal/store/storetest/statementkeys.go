package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sparkgate/sparkgate/internal/store"
)

// keyedStatement is an add of code under the user's requestId key on a session.
func keyedStatement(sessionID int64, user, key, code string) *store.AddStatementParams {
	return &store.AddStatementParams{SessionID: sessionID, Code: code, Kind: "pyspark", Now: t0,
		Key: &store.IdempotencyKey{Scope: user, Key: key}}
}

func statementTotal(t *testing.T, s store.Store, sessionID int64) int {
	t.Helper()
	page, err := s.ListStatements(context.Background(), &store.ListStatementsParams{SessionID: sessionID, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total
}

var statementKeyTests = []storeTest{
	{"KeyedStatementIsAddedOnce", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		sess := interactive(t, s)
		first, err := s.AddStatement(ctx, keyedStatement(sess.ID, "ann", "k1", "spark.sql('INSERT INTO t VALUES (1)')"))
		if err != nil || first.Replayed || first.ID != 0 {
			t.Fatalf("first keyed add = %+v, %v; want statement 0, not replayed", first, err)
		}
		again, err := s.AddStatement(ctx, keyedStatement(sess.ID, "ann", "k1", "spark.sql('INSERT INTO t VALUES (1)')"))
		if err != nil || !again.Replayed || again.ID != first.ID || again.Code != first.Code {
			t.Fatalf("repeated keyed add = %+v, %v; want statement %d replayed", again, err, first.ID)
		}
		if n := statementTotal(t, s, sess.ID); n != 1 {
			t.Errorf("after a repeat the session has %d statements, want 1", n)
		}
		if other, err := s.AddStatement(ctx, keyedStatement(sess.ID, "ann", "k2", "spark.sql('INSERT INTO t VALUES (1)')")); err != nil || other.Replayed || other.ID != 1 {
			t.Errorf("another key = %+v, %v; want a new statement 1", other, err)
		}
		if plain := addStatement(t, s, sess.ID, "1"); plain.Replayed || plain.ID != 2 {
			t.Errorf("an add without a key = %+v; want a new statement 2", plain)
		}
	}},
	{"KeyedStatementReusedForOtherCodeIsRefused", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		sess := interactive(t, s)
		if _, err := s.AddStatement(ctx, keyedStatement(sess.ID, "ann", "k1", "1 + 1")); err != nil {
			t.Fatal(err)
		}
		otherKind := keyedStatement(sess.ID, "ann", "k1", "1 + 1")
		otherKind.Kind = "sql"
		for name, p := range map[string]*store.AddStatementParams{
			"other code": keyedStatement(sess.ID, "ann", "k1", "2 + 2"),
			"other kind": otherKind,
		} {
			if st, err := s.AddStatement(ctx, p); !errors.Is(err, store.ErrKeyMismatch) {
				t.Errorf("%s under a used key = %+v, %v; want ErrKeyMismatch", name, st, err)
			}
		}
		if n := statementTotal(t, s, sess.ID); n != 1 {
			t.Errorf("refused adds left %d statements, want 1", n)
		}
	}},
	{"StatementKeysArePerUserAndSession", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		sess, other := interactive(t, s), interactive(t, s)
		for _, p := range []*store.AddStatementParams{
			keyedStatement(sess.ID, "ann", "k1", "1"),
			keyedStatement(sess.ID, "bob", "k1", "1"),  // another user's key
			keyedStatement(sess.ID, "", "k1", "1"),     // the anonymous clients'
			keyedStatement(other.ID, "ann", "k1", "1"), // the same user's key on another session
		} {
			if st, err := s.AddStatement(ctx, p); err != nil || st.Replayed {
				t.Errorf("add by %q on session %d = %+v, %v; want a new statement", p.Key.Scope, p.SessionID, st, err)
			}
		}
		if n := statementTotal(t, s, sess.ID); n != 3 {
			t.Errorf("three users' adds under one key made %d statements, want 3", n)
		}
	}},
	{"ConcurrentKeyedStatementsAddOne", func(t *testing.T, s store.Store) {
		sess := interactive(t, s)
		const n = 40
		var mu sync.Mutex
		ids := map[int64]int{}
		created := 0
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				st, err := s.AddStatement(context.Background(), keyedStatement(sess.ID, "ann", "once", "x = 1"))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				ids[st.ID]++
				if !st.Replayed {
					created++
				}
			})
		}
		wg.Wait()
		if len(ids) != 1 || created != 1 {
			t.Errorf("%d concurrent adds under one key: statements %v, %d created; want one statement, created once", n, ids, created)
		}
		if total := statementTotal(t, s, sess.ID); total != 1 {
			t.Errorf("the session has %d statements, want 1", total)
		}
	}},
	{"KeyedStatementIsReplayedAtTheBound", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		sess := interactive(t, s)
		p := keyedStatement(sess.ID, "ann", "k1", "1")
		p.MaxStatements = 1
		if _, err := s.AddStatement(ctx, p); err != nil {
			t.Fatal(err)
		}
		if st, err := s.AddStatement(ctx, p); err != nil || !st.Replayed {
			t.Errorf("a repeat at the bound = %+v, %v; want the statement replayed", st, err)
		}
		next := keyedStatement(sess.ID, "ann", "k2", "1")
		next.MaxStatements = 1
		if _, err := s.AddStatement(ctx, next); !errors.Is(err, store.ErrLimit) {
			t.Errorf("a new key beyond the bound: %v, want ErrLimit", err)
		}
	}},
	{"ReplayOnlyAddsNothing", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		sess := interactive(t, s)
		if _, err := s.AddStatement(ctx, keyedStatement(sess.ID, "ann", "k1", "1")); err != nil {
			t.Fatal(err)
		}
		again := keyedStatement(sess.ID, "ann", "k1", "1")
		again.ReplayOnly = true
		if st, err := s.AddStatement(ctx, again); err != nil || !st.Replayed || st.ID != 0 {
			t.Errorf("a replay-only repeat = %+v, %v; want statement 0 replayed", st, err)
		}
		fresh := keyedStatement(sess.ID, "ann", "k2", "1")
		fresh.ReplayOnly = true
		if st, err := s.AddStatement(ctx, fresh); !errors.Is(err, store.ErrStateConflict) {
			t.Errorf("a replay-only add under a new key = %+v, %v; want ErrStateConflict", st, err)
		}
		if n := statementTotal(t, s, sess.ID); n != 1 {
			t.Errorf("replay-only adds left %d statements, want 1", n)
		}
	}},
}
