package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store"
)

// concurrently runs fn n times at once and counts the calls that passed and those that hit a
// bound (ErrLimit); any other error fails the test.
func concurrently(t *testing.T, n int, fn func(i int) error) (passed, limited int) {
	t.Helper()
	var ok, limit atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			switch err := fn(i); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, store.ErrLimit):
				limit.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	return int(ok.Load()), int(limit.Load())
}

func owned(owner string, kind store.Kind, max int) *store.CreateParams {
	return &store.CreateParams{Kind: kind, Owner: owner, State: store.StateStarting, Tag: "t-{id}",
		Request: []byte(`{}`), MaxActive: max, Now: t0}
}

var boundTests = []storeTest{
	{"UnfinishedSessionsPerOwnerAreBounded", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		batch, err := s.CreateSession(ctx, owned("alice", store.KindBatch, 2))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSession(ctx, owned("alice", store.KindInteractive, 2)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateSession(ctx, owned("alice", store.KindBatch, 2)); !errors.Is(err, store.ErrLimit) {
			t.Fatalf("a third unfinished session of alice's (batches and sessions together) with a bound of 2: %v, want ErrLimit", err)
		}
		if page, _ := s.ListSessions(ctx, &store.ListParams{Kind: store.KindBatch, Size: 10}); page.Total != 1 {
			t.Errorf("a refused create left %d batches, want 1", page.Total)
		}
		if _, err := s.CreateSession(ctx, owned("bob", store.KindBatch, 2)); err != nil {
			t.Errorf("bob is bounded by alice's sessions: %v", err)
		}
		if _, err := s.CreateSession(ctx, owned("alice", store.KindBatch, 0)); err != nil {
			t.Errorf("no bound (0): %v", err)
		}
		if _, err := s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: batch.Session.ID, State: ptr(store.StateSuccess), Now: t0}); err != nil {
			t.Fatal(err)
		}
		// one finished, one unbounded: alice has two unfinished again
		if _, err := s.CreateSession(ctx, owned("alice", store.KindBatch, 3)); err != nil {
			t.Errorf("a finished session still counts: %v", err)
		}
		// a replay is answered even at the bound: it starts nothing
		p := owned("carol", store.KindBatch, 1)
		p.Key, p.Fingerprint = &store.IdempotencyKey{Scope: "batch/carol", Key: "k"}, "fp"
		if _, err := s.CreateSession(ctx, p); err != nil {
			t.Fatal(err)
		}
		if c, err := s.CreateSession(ctx, p); err != nil || !c.Replayed {
			t.Errorf("a replay at the bound: %+v, %v; want the replay", c, err)
		}
	}},
	{"UnfinishedSessionsBoundHoldsUnderConcurrency", func(t *testing.T, s store.Store) {
		passed, limited := concurrently(t, 12, func(i int) error {
			kind := store.KindBatch
			if i%2 == 1 {
				kind = store.KindInteractive
			}
			_, err := s.CreateSession(context.Background(), owned("dave", kind, 3))
			return err
		})
		if passed != 3 || limited != 9 {
			t.Errorf("12 concurrent creates with a bound of 3: %d passed, %d limited", passed, limited)
		}
	}},
	{"UnusedReservationsPerOwnerAreBounded", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		reserve := func(owner string, now, after time.Time) (int64, error) {
			return s.ReserveID(ctx, &store.ReserveParams{Kind: store.KindBatch, Owner: owner, PutKey: owner + "-pk",
				MaxUnused: 2, UnusedAfter: after, Now: now})
		}
		first, err := reserve("alice", t0, t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reserve("alice", t0, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := reserve("alice", t0, t0); !errors.Is(err, store.ErrLimit) {
			t.Fatalf("a third unused reservation with a bound of 2: %v, want ErrLimit", err)
		}
		if _, err := s.ReserveID(ctx, &store.ReserveParams{Kind: store.KindInteractive, Owner: "alice", PutKey: "x", MaxUnused: 2, Now: t0}); err != nil {
			t.Errorf("alice's batch reservations bound her session reservations: %v", err)
		}
		if _, err := reserve("bob", t0, t0); err != nil {
			t.Errorf("bob is bounded by alice's reservations: %v", err)
		}
		// a used reservation no longer counts
		if _, err := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, Owner: "alice", State: store.StateStarting, Tag: "t-{id}",
			ReservedID: &first, PutKey: "alice-pk", Fingerprint: "fp", Now: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := reserve("alice", t0, t0); err != nil {
			t.Errorf("after using one: %v", err)
		}
		// expired ones do not count, whether purged yet or not
		later := t0.Add(time.Hour)
		if _, err := reserve("alice", later, later); err != nil {
			t.Errorf("with the earlier ones expired: %v", err)
		}
		if _, err := s.PurgeKeys(ctx, &store.PurgeKeysParams{Kind: store.KindBatch, KeysBefore: t0, UnusedBefore: later}); err != nil {
			t.Fatal(err)
		}
		if _, err := reserve("alice", later, later); err != nil {
			t.Errorf("after purging the expired ones: %v", err)
		}
		if _, err := reserve("alice", later, later); !errors.Is(err, store.ErrLimit) {
			t.Errorf("the bound after purging: %v, want ErrLimit", err)
		}
	}},
	{"UnusedReservationsBoundHoldsUnderConcurrency", func(t *testing.T, s store.Store) {
		passed, limited := concurrently(t, 10, func(int) error {
			_, err := s.ReserveID(context.Background(), &store.ReserveParams{Kind: store.KindInteractive, Owner: "erin", PutKey: "pk",
				MaxUnused: 4, Now: t0})
			return err
		})
		if passed != 4 || limited != 6 {
			t.Errorf("10 concurrent reservations with a bound of 4: %d passed, %d limited", passed, limited)
		}
	}},
	{"StatementsPerSessionAreBounded", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		sess := interactive(t, s)
		add := func() error {
			_, err := s.AddStatement(ctx, &store.AddStatementParams{SessionID: sess.ID, Code: "1", Kind: "pyspark", MaxStatements: 2, Now: t0})
			return err
		}
		if err := errors.Join(add(), add()); err != nil {
			t.Fatal(err)
		}
		if err := add(); !errors.Is(err, store.ErrLimit) {
			t.Fatalf("a third statement with a bound of 2: %v, want ErrLimit", err)
		}
		if page, _ := s.ListStatements(ctx, &store.ListStatementsParams{SessionID: sess.ID, Size: 10}); page.Total != 2 {
			t.Errorf("a refused statement left %d statements, want 2", page.Total)
		}
	}},
}
