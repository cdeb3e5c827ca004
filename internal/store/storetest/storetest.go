// Package storetest is the conformance suite every store backend must pass. A backend's own
// test calls Run with a constructor that returns a fresh, empty store for each subtest.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store"
)

// Opener returns a new empty store; the suite closes it.
type Opener func(t *testing.T) store.Store

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func create(t *testing.T, s store.Store, kind store.Kind, name string) *store.Session {
	t.Helper()
	c, err := s.CreateSession(context.Background(), &store.CreateParams{
		Kind: kind, Name: name, State: store.StateStarting, Tag: fmt.Sprintf("tag-%s-%d", name, time.Now().UnixNano()),
		Request: []byte(`{"file":"/x.py"}`), Now: t0,
	})
	if err != nil {
		t.Fatalf("CreateSession(%q): %v", name, err)
	}
	if c.Replayed {
		t.Fatalf("a create without a key was a replay")
	}
	return c.Session
}

func ptr[T any](v T) *T { return &v }

type storeTest struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// Run runs the whole suite against the backend that open makes.
func Run(t *testing.T, open Opener) {
	ctx := context.Background()
	tests := []storeTest{
		{"IDsAreSequentialPerKind", func(t *testing.T, s store.Store) {
			a := create(t, s, store.KindBatch, "")
			b := create(t, s, store.KindBatch, "")
			c := create(t, s, store.KindInteractive, "")
			if b.ID != a.ID+1 {
				t.Errorf("second batch id = %d, want %d", b.ID, a.ID+1)
			}
			if a.ID != 0 || c.ID != 0 {
				t.Errorf("first ids = %d (batch), %d (interactive); want each kind's own counter starting at 0 as in Livy", a.ID, c.ID)
			}
		}},
		{"TagTemplateGetsTheID", func(t *testing.T, s store.Store) {
			create(t, s, store.KindBatch, "")
			c, err := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting, Tag: "app-{id}-x", Now: t0})
			if err != nil || c.Session.Tag != "app-1-x" {
				t.Fatalf("tag = %v, %v; want app-1-x", c, err)
			}
		}},
		{"RoundTripKeepsEveryField", func(t *testing.T, s store.Store) {
			in := create(t, s, store.KindBatch, "etl")
			got, err := s.GetSession(ctx, store.KindBatch, in.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "etl" || got.Tag != in.Tag || string(got.Request) != `{"file":"/x.py"}` ||
				got.State != store.StateStarting || !got.CreatedAt.Equal(t0) {
				t.Errorf("GetSession = %+v, want what was created: %+v", got, in)
			}
			byName, err := s.GetSessionByName(ctx, store.KindBatch, "etl")
			if err != nil || byName.ID != in.ID {
				t.Errorf("GetSessionByName = %v, %v; want id %d", byName, err, in.ID)
			}
		}},
		{"UnknownIsNotFound", func(t *testing.T, s store.Store) {
			if _, err := s.GetSession(ctx, store.KindBatch, 42); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetSession(42) error = %v, want ErrNotFound", err)
			}
			if _, err := s.GetSessionByName(ctx, store.KindBatch, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetSessionByName error = %v, want ErrNotFound", err)
			}
			if _, err := s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: 42, Now: t0}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("UpdateSession(42) error = %v, want ErrNotFound", err)
			}
			if _, err := s.DeleteSession(ctx, store.KindBatch, 42, t0); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("DeleteSession(42) error = %v, want ErrNotFound", err)
			}
		}},
		{"NamesAreUniquePerKindWhileLive", func(t *testing.T, s store.Store) {
			first := create(t, s, store.KindBatch, "daily")
			_, err := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, Name: "daily", State: store.StateStarting, Tag: "t2", Now: t0})
			if !errors.Is(err, store.ErrNameTaken) {
				t.Fatalf("second create with the same name: error = %v, want ErrNameTaken", err)
			}
			create(t, s, store.KindInteractive, "daily") // another kind, another namespace
			if _, err := s.DeleteSession(ctx, store.KindBatch, first.ID, t0); err != nil {
				t.Fatal(err)
			}
			again := create(t, s, store.KindBatch, "daily")
			if again.ID == first.ID {
				t.Errorf("an id was reused: %d", again.ID)
			}
		}},
		{"ActivityClocksPersist", func(t *testing.T, s store.Store) {
			sess := create(t, s, store.KindInteractive, "")
			if !sess.LastActive().Equal(t0) || !sess.LastHeartbeat().Equal(t0) {
				t.Errorf("new session: last active %v, last heartbeat %v; want its creation %v", sess.LastActive(), sess.LastHeartbeat(), t0)
			}
			active, beat := t0.Add(time.Minute), t0.Add(2*time.Minute)
			for _, p := range []*store.UpdateParams{{Active: true, Now: active}, {Heartbeat: true, Now: beat}} {
				p.Kind, p.ID = store.KindInteractive, sess.ID
				if _, err := s.UpdateSession(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.GetSession(ctx, store.KindInteractive, sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !got.LastActive().Equal(active) || !got.LastHeartbeat().Equal(beat) {
				t.Errorf("stored clocks: active %v heartbeat %v; want %v and %v", got.LastActive(), got.LastHeartbeat(), active, beat)
			}
		}},
		{"ConditionalUpdate", func(t *testing.T, s store.Store) {
			sess := create(t, s, store.KindBatch, "")
			later := t0.Add(time.Minute)
			upd, err := s.UpdateSession(ctx, &store.UpdateParams{
				Kind: store.KindBatch, ID: sess.ID, IfStates: []store.State{store.StateStarting},
				State: ptr(store.StateRunning), Launch: &store.Launch{SupervisorPID: 7, LaunchedAt: later},
				AppID: ptr("local-1"), AppInfo: &store.AppInfo{SparkUIURL: "http://ui"}, Now: later,
			})
			if err != nil {
				t.Fatal(err)
			}
			if upd.State != store.StateRunning || upd.Launch == nil || upd.Launch.SupervisorPID != 7 || upd.AppID != "local-1" ||
				upd.AppInfo.SparkUIURL != "http://ui" || !upd.FinishedAt.IsZero() {
				t.Errorf("after update: %+v", upd)
			}
			_, err = s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: sess.ID,
				IfStates: []store.State{store.StateStarting}, State: ptr(store.StateDead), Now: later})
			if !errors.Is(err, store.ErrStateConflict) {
				t.Errorf("update from a state it is not in: error = %v, want ErrStateConflict", err)
			}
			done, err := s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: sess.ID,
				State: ptr(store.StateSuccess), ExitCode: ptr(0), Now: later.Add(time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			if !done.FinishedAt.Equal(later.Add(time.Second)) || done.ExitCode == nil || *done.ExitCode != 0 {
				t.Errorf("terminal update: finishedAt=%v exitCode=%v", done.FinishedAt, done.ExitCode)
			}
			got, _ := s.GetSession(ctx, store.KindBatch, sess.ID)
			if got.State != store.StateSuccess || got.Launch == nil {
				t.Errorf("stored after updates: %+v", got)
			}
		}},
		{"ListPagesInIDOrderWithTotal", func(t *testing.T, s store.Store) {
			var ids []int64
			for range 5 {
				ids = append(ids, create(t, s, store.KindBatch, "").ID)
			}
			if _, err := s.DeleteSession(ctx, store.KindBatch, ids[1], t0); err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				from, size int
				want       []int64
			}{
				{0, 100, []int64{ids[0], ids[2], ids[3], ids[4]}},
				{1, 2, []int64{ids[2], ids[3]}},
				{3, 10, []int64{ids[4]}},
				{4, 10, nil},
				{0, 0, nil},
			}
			for _, c := range cases {
				page, err := s.ListSessions(ctx, &store.ListParams{Kind: store.KindBatch, From: c.from, Size: c.size})
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, p := range page.Sessions {
					got = append(got, p.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(c.want) || page.Total != 4 {
					t.Errorf("ListSessions(from=%d,size=%d) = %v total %d, want %v total 4", c.from, c.size, got, page.Total, c.want)
				}
				if page.Sessions == nil {
					t.Errorf("ListSessions returned a nil slice; want empty")
				}
			}
		}},
		{"DeleteKillsAndHides", func(t *testing.T, s store.Store) {
			sess := create(t, s, store.KindBatch, "gone")
			before, err := s.DeleteSession(ctx, store.KindBatch, sess.ID, t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if before.State != store.StateStarting {
				t.Errorf("DeleteSession returned state %s, want the state before deletion", before.State)
			}
			if _, err := s.GetSession(ctx, store.KindBatch, sess.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetSession after delete: %v, want ErrNotFound", err)
			}
			if _, err := s.DeleteSession(ctx, store.KindBatch, sess.ID, t0); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("second DeleteSession: %v, want ErrNotFound", err)
			}
			active, _ := s.ListActive(ctx, store.KindBatch)
			if len(active) != 0 {
				t.Errorf("a deleted session is still active: %+v", active[0])
			}
			// The record itself is kept (for replays) and can still be updated.
			upd, err := s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: sess.ID, AppID: ptr("x"), Now: t0})
			if err != nil || upd.State != store.StateKilled || !upd.Deleted() {
				t.Errorf("update of a deleted record: %+v, %v; want killed and deleted", upd, err)
			}
		}},
		{"ListActiveIsTheRecoveryWorklist", func(t *testing.T, s store.Store) {
			a := create(t, s, store.KindBatch, "")
			b := create(t, s, store.KindBatch, "")
			if _, err := s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: a.ID, State: ptr(store.StateDead), Now: t0}); err != nil {
				t.Fatal(err)
			}
			active, err := s.ListActive(ctx, store.KindBatch)
			if err != nil {
				t.Fatal(err)
			}
			if len(active) != 1 || active[0].ID != b.ID {
				t.Errorf("ListActive = %v, want only %d", active, b.ID)
			}
		}},
		{"PurgeForgetsWhatFinishedLongAgo", func(t *testing.T, s store.Store) {
			old := create(t, s, store.KindBatch, "old")
			recent := create(t, s, store.KindBatch, "")
			running := create(t, s, store.KindBatch, "")
			deleted := create(t, s, store.KindBatch, "")
			s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: old.ID, State: ptr(store.StateSuccess), Now: t0})
			s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: recent.ID, State: ptr(store.StateSuccess), Now: t0.Add(2 * time.Hour)})
			s.DeleteSession(ctx, store.KindBatch, deleted.ID, t0)
			purged, err := s.PurgeSessions(ctx, &store.PurgeParams{Kind: store.KindBatch, Before: t0.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if len(purged) != 2 {
				t.Fatalf("purged %d sessions, want 2 (the old one and the deleted one)", len(purged))
			}
			page, _ := s.ListSessions(ctx, &store.ListParams{Kind: store.KindBatch, Size: 100})
			if page.Total != 2 || len(page.Sessions) != 2 || page.Sessions[0].ID != recent.ID || page.Sessions[1].ID != running.ID {
				t.Errorf("after purge: total %d, sessions %v", page.Total, page.Sessions)
			}
			create(t, s, store.KindBatch, "old") // the purged name is free again
		}},
		{"ConcurrentCreatesGetDistinctIDs", func(t *testing.T, s store.Store) {
			const n = 64
			ids := make(chan int64, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					sess, err := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting,
						Tag: fmt.Sprintf("c%d", i), Now: t0})
					if err != nil {
						t.Error(err)
						return
					}
					ids <- sess.Session.ID
				})
			}
			wg.Wait()
			close(ids)
			seen := map[int64]bool{}
			for id := range ids {
				if seen[id] {
					t.Errorf("id %d allocated twice", id)
				}
				seen[id] = true
			}
			page, _ := s.ListSessions(ctx, &store.ListParams{Kind: store.KindBatch, Size: 1000})
			if page.Total != n {
				t.Errorf("total = %d, want %d", page.Total, n)
			}
		}},
		{"ConcurrentNameClaimsHaveOneWinner", func(t *testing.T, s store.Store) {
			const n = 16
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins, taken := 0, 0
			for i := range n {
				wg.Go(func() {
					_, err := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, Name: "once", State: store.StateStarting,
						Tag: fmt.Sprintf("n%d", i), Now: t0})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case errors.Is(err, store.ErrNameTaken):
						taken++
					default:
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if wins != 1 || taken != n-1 {
				t.Errorf("wins=%d taken=%d, want 1 and %d", wins, taken, n-1)
			}
		}},
	}
	tests = append(append(append(append(append(tests, idempotencyTests...), leaseTests...), statementTests...), statementKeyTests...), boundTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}
