package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store"
)

func interactive(t *testing.T, s store.Store) *store.Session {
	t.Helper()
	return create(t, s, store.KindInteractive, "")
}

func addStatement(t *testing.T, s store.Store, sessionID int64, code string) *store.Statement {
	t.Helper()
	st, err := s.AddStatement(context.Background(), &store.AddStatementParams{SessionID: sessionID, Code: code, Kind: "pyspark", Now: t0})
	if err != nil {
		t.Fatalf("AddStatement: %v", err)
	}
	return st
}

var statementTests = []storeTest{
	{"StatementsAreNumberedPerSession", func(t *testing.T, s store.Store) {
		a, b := interactive(t, s), interactive(t, s)
		for i := range 3 {
			if st := addStatement(t, s, a.ID, fmt.Sprint(i)); st.ID != int64(i) || st.State != store.StatementWaiting {
				t.Errorf("statement %d of a = %+v", i, st)
			}
		}
		if st := addStatement(t, s, b.ID, "x"); st.ID != 0 {
			t.Errorf("first statement of b has id %d, want 0", st.ID)
		}
		page, err := s.ListStatements(context.Background(), &store.ListStatementsParams{SessionID: a.ID, Size: 10})
		if err != nil || page.Total != 3 || len(page.Statements) != 3 || page.Statements[2].Code != "2" {
			t.Errorf("ListStatements = %+v, %v", page, err)
		}
		if page, _ := s.ListStatements(context.Background(), &store.ListStatementsParams{SessionID: 999, Size: 10}); page.Statements == nil || len(page.Statements) != 0 || page.Total != 0 {
			t.Errorf("statements of an unknown session = %+v, want an empty page", page)
		}
	}},
	{"StatementsArePaged", func(t *testing.T, s store.Store) {
		sess, other := interactive(t, s), interactive(t, s)
		for i := range 5 {
			addStatement(t, s, sess.ID, fmt.Sprint(i))
		}
		addStatement(t, s, other.ID, "other")
		for _, tc := range []struct {
			p    store.ListStatementsParams
			want string
		}{
			{store.ListStatementsParams{Size: 10}, "[0 1 2 3 4]"},
			{store.ListStatementsParams{}, "[]"},
			{store.ListStatementsParams{From: 1, Size: 2}, "[1 2]"},
			{store.ListStatementsParams{From: 3, Size: 100}, "[3 4]"},
			{store.ListStatementsParams{From: 5, Size: 1}, "[]"},
			{store.ListStatementsParams{From: 1 << 62, Size: 1 << 62}, "[]"},
			{store.ListStatementsParams{Desc: true, Size: 5}, "[4 3 2 1 0]"},
			{store.ListStatementsParams{Desc: true, From: 1, Size: 2}, "[3 2]"},
			{store.ListStatementsParams{Desc: true, From: 4, Size: 9}, "[0]"},
			{store.ListStatementsParams{Desc: true, From: 9, Size: 1}, "[]"},
		} {
			tc.p.SessionID = sess.ID
			page, err := s.ListStatements(context.Background(), &tc.p)
			var ids []int64
			for _, st := range page.Statements {
				ids = append(ids, st.ID)
			}
			if got := fmt.Sprint(ids); err != nil || page.Total != 5 || got != tc.want {
				t.Errorf("ListStatements(%+v) = %s of %d, %v; want %s of 5", tc.p, got, page.Total, err, tc.want)
			}
		}
	}},
	{"StatementsNeedALiveInteractiveSession", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		b := create(t, s, store.KindBatch, "")
		if _, err := s.AddStatement(ctx, &store.AddStatementParams{SessionID: b.ID + 100, Code: "1"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("statement on an unknown session: %v", err)
		}
		sess := interactive(t, s)
		s.DeleteSession(ctx, store.KindInteractive, sess.ID, t0)
		if _, err := s.AddStatement(ctx, &store.AddStatementParams{SessionID: sess.ID, Code: "1"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("statement on a deleted session: %v", err)
		}
	}},
	{"SettledSessionFollowsItsStatements", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		sess := interactive(t, s)
		idle := store.StateIdle
		if _, err := s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: sess.ID, State: &idle, Now: t0}); err != nil {
			t.Fatal(err)
		}
		first, second := addStatement(t, s, sess.ID, "1"), addStatement(t, s, sess.ID, "2")
		step := func(st *store.Statement, to store.StatementState, at time.Duration, want store.State) {
			t.Helper()
			if _, err := s.UpdateStatement(ctx, &store.UpdateStatementParams{SessionID: sess.ID, ID: st.ID, State: &to,
				Settle: true, Now: t0.Add(at)}); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetSession(ctx, store.KindInteractive, sess.ID)
			if err != nil || got.State != want || !got.LastActive().Equal(t0.Add(at)) {
				t.Fatalf("statement %d %s: session %v (active %v), %v; want %s active at +%v", st.ID, to, got.State, got.LastActive(), err, want, at)
			}
		}
		step(first, store.StatementRunning, 1*time.Second, store.StateBusy)
		step(first, store.StatementAvailable, 2*time.Second, store.StateBusy) // the second still waits: no change
		step(second, store.StatementAvailable, 3*time.Second, store.StateIdle)
		third := addStatement(t, s, sess.ID, "3")
		dead := store.StateDead
		if _, err := s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: sess.ID, State: &dead, Now: t0}); err != nil {
			t.Fatal(err)
		}
		step(third, store.StatementRunning, 4*time.Second, store.StateDead) // an ended session stays ended
	}},
	{"FirstUnfinishedStatementIsTheOneHandedOutOrTheQueuesHead", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		sess, other := interactive(t, s), interactive(t, s)
		if _, err := s.FirstUnfinishedStatement(ctx, sess.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("empty queue: %v, want ErrNotFound", err)
		}
		addStatement(t, s, other.ID, "another session's")
		first, second, third := addStatement(t, s, sess.ID, "1"), addStatement(t, s, sess.ID, "2"), addStatement(t, s, sess.ID, "3")
		head := func(want *store.Statement) {
			t.Helper()
			got, err := s.FirstUnfinishedStatement(ctx, sess.ID)
			if want == nil {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("queue head = %v, %v; want none", got, err)
				}
				return
			}
			if err != nil || got.ID != want.ID || got.Code != want.Code {
				t.Errorf("queue head = %v, %v; want statement %d", got, err, want.ID)
			}
		}
		head(first)
		set := func(st *store.Statement, to store.StatementState) {
			t.Helper()
			if _, err := s.UpdateStatement(ctx, &store.UpdateStatementParams{SessionID: sess.ID, ID: st.ID, State: &to}); err != nil {
				t.Fatal(err)
			}
		}
		set(first, store.StatementRunning)
		head(first) // handed out, not answered
		set(first, store.StatementCancelling)
		head(first)
		set(first, store.StatementAvailable)
		head(second)
		set(second, store.StatementCancelled)
		head(third)
		set(third, store.StatementRunning)
		head(third)
		set(third, store.StatementAvailable)
		head(nil)
	}},
	{"StatementUpdates", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		sess := interactive(t, s)
		st := addStatement(t, s, sess.ID, "1 + 1")
		running, available := store.StatementRunning, store.StatementAvailable
		now := int64(1700000000000)
		if _, err := s.UpdateStatement(ctx, &store.UpdateStatementParams{SessionID: sess.ID, ID: st.ID,
			IfStates: []store.StatementState{store.StatementWaiting}, State: &running, Started: &now}); err != nil {
			t.Fatal(err)
		}
		out := json.RawMessage(`{"status":"ok","execution_count":0,"data":{"text/plain":"2"}}`)
		half := 1.0
		got, err := s.UpdateStatement(ctx, &store.UpdateStatementParams{SessionID: sess.ID, ID: st.ID,
			IfStates: []store.StatementState{store.StatementRunning}, State: &available, Output: out, Progress: &half, Completed: &now})
		if err != nil || got.State != available || string(got.Output) != string(out) || got.Started != now || got.Progress != 1 {
			t.Fatalf("after updates: %+v, %v", got, err)
		}
		if _, err := s.UpdateStatement(ctx, &store.UpdateStatementParams{SessionID: sess.ID, ID: st.ID,
			IfStates: []store.StatementState{store.StatementWaiting}, State: &running}); !errors.Is(err, store.ErrStateConflict) {
			t.Errorf("conditional update from the wrong state: %v", err)
		}
		read, err := s.GetStatement(ctx, sess.ID, st.ID)
		if err != nil || read.State != available || read.Code != "1 + 1" {
			t.Errorf("GetStatement = %+v, %v", read, err)
		}
		if _, err := s.GetStatement(ctx, sess.ID, 7); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown statement: %v", err)
		}
	}},
	{"ConcurrentStatementsGetDistinctIDs", func(t *testing.T, s store.Store) {
		sess := interactive(t, s)
		const n = 20
		var mu sync.Mutex
		seen := map[int64]bool{}
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				st := addStatement(t, s, sess.ID, "x")
				mu.Lock()
				seen[st.ID] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(seen) != n {
			t.Errorf("%d distinct ids for %d statements", len(seen), n)
		}
	}},
	{"PurgedSessionsTakeTheirStatements", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		sess := interactive(t, s)
		addStatement(t, s, sess.ID, "x")
		s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: sess.ID, State: ptr(store.StateDead), Now: t0})
		purged, err := s.PurgeSessions(ctx, &store.PurgeParams{Kind: store.KindInteractive, Before: t0.Add(time.Hour)})
		if err != nil || len(purged) != 1 {
			t.Fatalf("purge: %d, %v", len(purged), err)
		}
		if page, _ := s.ListStatements(ctx, &store.ListStatementsParams{SessionID: sess.ID, Size: 10}); len(page.Statements) != 0 {
			t.Errorf("a purged session's statements remain: %v", page.Statements)
		}
	}},
}
