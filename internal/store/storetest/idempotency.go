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

func keyed(key, fingerprint string) *store.CreateParams {
	return &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting, Tag: "t-{id}",
		Request: []byte(`{}`), Fingerprint: fingerprint, Key: &store.IdempotencyKey{Scope: "batch/", Key: key}, Now: t0}
}

var idempotencyTests = []storeTest{
	{"KeyedCreateReplays", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		first, err := s.CreateSession(ctx, keyed("k1", "fp"))
		if err != nil || first.Replayed {
			t.Fatalf("first create: %+v, %v", first, err)
		}
		if first.Session.RequestID != "k1" || first.Session.Fingerprint != "fp" {
			t.Errorf("the record does not carry its key: %+v", first.Session)
		}
		again, err := s.CreateSession(ctx, keyed("k1", "fp"))
		if err != nil || !again.Replayed || again.Session.ID != first.Session.ID {
			t.Fatalf("replay: %+v, %v; want the first session, replayed", again, err)
		}
		if found, err := s.FindReplay(ctx, keyed("k1", "fp")); err != nil || found.ID != first.Session.ID {
			t.Errorf("FindReplay = %v, %v; want the first session", found, err)
		}
		if _, err := s.FindReplay(ctx, keyed("k1", "other")); !errors.Is(err, store.ErrKeyMismatch) {
			t.Errorf("FindReplay with another fingerprint: %v, want ErrKeyMismatch", err)
		}
		if _, err := s.FindReplay(ctx, keyed("nope", "fp")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindReplay of an unknown key: %v, want ErrNotFound", err)
		}
		if _, err := s.CreateSession(ctx, keyed("k1", "other")); !errors.Is(err, store.ErrKeyMismatch) {
			t.Errorf("same key, other request: %v, want ErrKeyMismatch", err)
		}
		other := keyed("k1", "fp")
		other.Key.Scope = "batch/alice"
		if c, err := s.CreateSession(ctx, other); err != nil || c.Replayed {
			t.Errorf("same key in another scope: %+v, %v; want a new session", c, err)
		}
		page, _ := s.ListSessions(ctx, &store.ListParams{Kind: store.KindBatch, Size: 10})
		if page.Total != 2 {
			t.Errorf("total = %d, want 2", page.Total)
		}
	}},
	{"ConcurrentKeyedCreatesMakeOneSession", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		const n = 40
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, replayed := 0, 0
		ids := map[int64]bool{}
		for range n {
			wg.Go(func() {
				c, err := s.CreateSession(ctx, keyed("same", "fp"))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				ids[c.Session.ID] = true
				if c.Replayed {
					replayed++
				} else {
					created++
				}
			})
		}
		wg.Wait()
		if created != 1 || replayed != n-1 || len(ids) != 1 {
			t.Errorf("created %d, replayed %d, ids %v; want 1, %d, one id", created, replayed, ids, n-1)
		}
	}},
	{"KeyOutlivesDeleteAndRetention", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		c, _ := s.CreateSession(ctx, keyed("k", "fp"))
		id := c.Session.ID
		if _, err := s.DeleteSession(ctx, store.KindBatch, id, t0); err != nil {
			t.Fatal(err)
		}
		r, err := s.CreateSession(ctx, keyed("k", "fp"))
		if err != nil || !r.Replayed || r.Session.ID != id || r.Session.State != store.StateKilled {
			t.Fatalf("replay after delete: %+v, %v; want the killed session", r, err)
		}
		// Past the session's retention, but not the key's: hidden, still replayed.
		purged, _ := s.PurgeSessions(ctx, &store.PurgeParams{Kind: store.KindBatch, Before: t0.Add(time.Hour)})
		if len(purged) != 0 {
			t.Errorf("a session named by a live key was purged")
		}
		if r, err := s.CreateSession(ctx, keyed("k", "fp")); err != nil || r.Session.ID != id {
			t.Fatalf("replay after retention: %+v, %v", r, err)
		}
		// A finished (not deleted) keyed session is hidden the same way.
		c2, _ := s.CreateSession(ctx, keyed("k2", "fp"))
		s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: c2.Session.ID, State: ptr(store.StateSuccess), Now: t0})
		s.PurgeSessions(ctx, &store.PurgeParams{Kind: store.KindBatch, Before: t0.Add(time.Hour)})
		if _, err := s.GetSession(ctx, store.KindBatch, c2.Session.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a hidden session is still found: %v", err)
		}
		if page, _ := s.ListSessions(ctx, &store.ListParams{Kind: store.KindBatch, Size: 10}); page.Total != 0 {
			t.Errorf("hidden sessions are counted: total %d", page.Total)
		}
		if r, err := s.CreateSession(ctx, keyed("k2", "fp")); err != nil || !r.Replayed || r.Session.State != store.StateSuccess {
			t.Fatalf("replay of a hidden session: %+v, %v", r, err)
		}
		// Once the keys expire, the sessions go and the keys are free.
		gone, err := s.PurgeKeys(ctx, &store.PurgeKeysParams{Kind: store.KindBatch, KeysBefore: t0.Add(time.Hour), UnusedBefore: t0.Add(time.Hour)})
		if err != nil || len(gone) != 2 {
			t.Fatalf("PurgeKeys = %d sessions, %v; want 2", len(gone), err)
		}
		if r, err := s.CreateSession(ctx, keyed("k", "fp")); err != nil || r.Replayed {
			t.Errorf("after expiry the key makes a new session: %+v, %v", r, err)
		}
	}},
	{"ReservedIDs", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		plain := create(t, s, store.KindBatch, "")
		id, err := s.ReserveID(ctx, &store.ReserveParams{Kind: store.KindBatch, PutKey: "pk", Now: t0})
		if err != nil || id != plain.ID+1 {
			t.Fatalf("ReserveID = %d, %v; want %d from the same counter", id, err, plain.ID+1)
		}
		if next := create(t, s, store.KindBatch, ""); next.ID != id+1 {
			t.Errorf("the id after a reservation = %d, want %d", next.ID, id+1)
		}
		if _, err := s.GetSession(ctx, store.KindBatch, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a reserved id is found as a session: %v", err)
		}
		put := func(putKey, fp string, after time.Time) (*store.Created, error) {
			return s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting, Tag: "r-{id}",
				Fingerprint: fp, ReservedID: &id, PutKey: putKey, ReservedAfter: after, Now: t0})
		}
		if _, err := put("wrong", "fp", time.Time{}); !errors.Is(err, store.ErrPutKeyMismatch) {
			t.Errorf("wrong putKey: %v", err)
		}
		if _, err := put("pk", "fp", t0.Add(time.Second)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired reservation: %v", err)
		}
		find := &store.CreateParams{Kind: store.KindBatch, Fingerprint: "fp", ReservedID: &id, PutKey: "pk"}
		if _, err := s.FindReplay(ctx, find); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindReplay of an unused reservation: %v, want ErrNotFound", err)
		}
		c, err := put("pk", "fp", time.Time{})
		if err != nil || c.Replayed || c.Session.ID != id || c.Session.Tag != fmt.Sprintf("r-%d", id) {
			t.Fatalf("put: %+v, %v", c, err)
		}
		if c, err := put("pk", "fp", time.Time{}); err != nil || !c.Replayed || c.Session.ID != id {
			t.Errorf("second put: %+v, %v; want a replay", c, err)
		}
		if found, err := s.FindReplay(ctx, find); err != nil || found.ID != id {
			t.Errorf("FindReplay of a used reservation: %v, %v", found, err)
		}
		find.PutKey = "wrong"
		if _, err := s.FindReplay(ctx, find); !errors.Is(err, store.ErrPutKeyMismatch) {
			t.Errorf("FindReplay with a wrong putKey: %v", err)
		}
		if _, err := put("pk", "other", time.Time{}); !errors.Is(err, store.ErrKeyMismatch) {
			t.Errorf("second put, other request: %v", err)
		}
		never := int64(999)
		if _, err := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting, Tag: "x",
			ReservedID: &never, PutKey: "pk", Now: t0}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("never reserved: %v", err)
		}
		unused, _ := s.ReserveID(ctx, &store.ReserveParams{Kind: store.KindBatch, PutKey: "pk2", Now: t0})
		s.PurgeKeys(ctx, &store.PurgeKeysParams{Kind: store.KindBatch, KeysBefore: t0, UnusedBefore: t0.Add(time.Second)})
		if _, err := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting, Tag: "x",
			ReservedID: &unused, PutKey: "pk2", Now: t0}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a purged unused reservation still works: %v", err)
		}
		if c, err := put("pk", "fp", time.Time{}); err != nil || !c.Replayed {
			t.Errorf("a used reservation must outlive the unused-reservation expiry: %+v, %v", c, err)
		}
	}},
}

func supervised(t *testing.T, s store.Store, supervisor string) *store.Session {
	t.Helper()
	c, err := s.CreateSession(context.Background(), &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting,
		Tag: "t-{id}", Supervisor: supervisor, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return c.Session
}

func adoptedIDs(t *testing.T, s store.Store, instance string, now time.Time) []int64 {
	t.Helper()
	return adoptedOnVolume(t, s, instance, "vol", now)
}

func adoptedOnVolume(t *testing.T, s store.Store, instance, volume string, now time.Time) []int64 {
	t.Helper()
	sessions, err := s.AdoptSessions(context.Background(), &store.AdoptParams{Kind: store.KindBatch, InstanceID: instance, Volume: volume, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, sess := range sessions {
		if sess.Supervisor != instance {
			t.Errorf("adopted session %d names supervisor %q", sess.ID, sess.Supervisor)
		}
		ids = append(ids, sess.ID)
	}
	return ids
}

var leaseTests = []storeTest{
	{"InstancesAreFoundByID", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		for _, until := range []time.Time{t0, t0.Add(time.Minute)} { // the second renewal wins
			if err := s.RenewLease(ctx, &store.LeaseParams{InstanceID: "a", Addr: "10.0.0.1:8998", Volume: "vol", LeaseUntil: until}); err != nil {
				t.Fatal(err)
			}
		}
		inst, err := s.GetInstance(ctx, "a")
		if err != nil || inst.Addr != "10.0.0.1:8998" || inst.Volume != "vol" || !inst.LeaseUntil.Equal(t0.Add(time.Minute)) {
			t.Errorf("GetInstance = %+v, %v", inst, err)
		}
		if _, err := s.GetInstance(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an unknown instance: %v, want ErrNotFound", err)
		}
		if err := s.RenewLease(ctx, &store.LeaseParams{InstanceID: "0-first", Addr: "10.0.0.2:8998", Volume: "vol", LeaseUntil: t0}); err != nil {
			t.Fatal(err)
		}
		all, err := s.ListInstances(ctx)
		if err != nil || len(all) != 2 || all[0].ID != "0-first" || all[1].ID != "a" || !all[1].LeaseUntil.Equal(t0.Add(time.Minute)) || all[0].Addr != "10.0.0.2:8998" {
			t.Errorf("ListInstances = %+v, %v; want both, by id", all, err)
		}
	}},
	{"AdoptionTakesOnlyOrphans", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		a, b, none := supervised(t, s, "a"), supervised(t, s, "b"), supervised(t, s, "")
		done := supervised(t, s, "a")
		s.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: done.ID, State: ptr(store.StateSuccess), Now: t0})
		for _, inst := range []string{"a", "b", "c"} {
			if err := s.RenewLease(ctx, &store.LeaseParams{InstanceID: inst, Addr: "x", Volume: "vol", LeaseUntil: t0.Add(10 * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		if got := adoptedIDs(t, s, "c", t0.Add(5*time.Second)); fmt.Sprint(got) != fmt.Sprint([]int64{none.ID}) {
			t.Errorf("while a and b are alive, c adopts %v, want only the unsupervised %d", got, none.ID)
		}
		s.RenewLease(ctx, &store.LeaseParams{InstanceID: "c", Volume: "vol", LeaseUntil: t0.Add(time.Minute)})
		if got := adoptedIDs(t, s, "c", t0.Add(20*time.Second)); fmt.Sprint(got) != fmt.Sprint([]int64{a.ID, b.ID}) {
			t.Errorf("after a's and b's leases expired, c adopts %v, want %d and %d", got, a.ID, b.ID)
		}
		if got := adoptedIDs(t, s, "a", t0.Add(20*time.Second)); len(got) != 0 {
			t.Errorf("a takes %v back from c, which is alive", got)
		}
		got, _ := s.GetSession(ctx, store.KindBatch, a.ID)
		if got.Supervisor != "c" {
			t.Errorf("the record names supervisor %q, want c", got.Supervisor)
		}
	}},
	{"AdoptionStaysOnTheVolume", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		orphan := supervised(t, s, "gone")
		s.RenewLease(ctx, &store.LeaseParams{InstanceID: "gone", Volume: "host1", LeaseUntil: t0})
		if got := adoptedOnVolume(t, s, "elsewhere", "host2", t0.Add(time.Minute)); len(got) != 0 {
			t.Errorf("an instance on another volume adopted %v: it cannot see whether the application runs", got)
		}
		if got := adoptedOnVolume(t, s, "neighbour", "host1", t0.Add(time.Minute)); fmt.Sprint(got) != fmt.Sprint([]int64{orphan.ID}) {
			t.Errorf("an instance on the same volume adopted %v, want %d", got, orphan.ID)
		}
	}},
	// Rounds in one store: each round's orphans are adopted once, and the sessions live peers
	// adopted in earlier rounds (the rows a racing adopter sees change under it) never again.
	{"ConcurrentAdoptersSplitTheOrphans", func(t *testing.T, s store.Store) {
		const rounds, n, adopters = 20, 30, 3
		for i := range adopters { // live instances: each renewed its lease before adopting
			s.RenewLease(context.Background(), &store.LeaseParams{InstanceID: fmt.Sprintf("i%d", i), Volume: "vol", LeaseUntil: t0.Add(time.Hour)})
		}
		seen := map[int64]int{}
		for round := range rounds {
			for range n {
				supervised(t, s, fmt.Sprintf("dead-%d", round))
			}
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range adopters {
				wg.Go(func() {
					<-start
					ids := adoptedIDs(t, s, fmt.Sprintf("i%d", i), t0)
					mu.Lock()
					defer mu.Unlock()
					for _, id := range ids {
						seen[id]++
					}
				})
			}
			close(start)
			wg.Wait()
			if len(seen) != n*(round+1) {
				t.Fatalf("round %d: %d of %d orphans adopted", round, len(seen), n*(round+1))
			}
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("session %d adopted %d times", id, c)
			}
		}
	}},
}
