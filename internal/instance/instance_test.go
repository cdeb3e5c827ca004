package instance

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

type recorder struct {
	mu  sync.Mutex
	ids map[store.Kind][]int64
}

func (r *recorder) hook(kind store.Kind) func(*store.Session) {
	return func(sess *store.Session) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.ids[kind] = append(r.ids[kind], sess.ID)
	}
}

func (r *recorder) of(kind store.Kind) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[kind]
}

// An instance hands each kind's orphans of an expired peer to that kind's hook, keeps its
// own lease while it runs and gives it up when it leaves.
func TestAdoptionGoesToEachKindsHookAndLeaveGivesUpTheLease(t *testing.T) {
	ctx := context.Background()
	st := storetest.Embedded(t)
	past := time.Now().Add(-time.Hour)
	if err := st.RenewLease(ctx, &store.LeaseParams{InstanceID: "dead", Volume: "v", LeaseUntil: past}); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []store.Kind{store.KindBatch, store.KindInteractive, store.KindInteractive} {
		if _, err := st.CreateSession(ctx, &store.CreateParams{Kind: kind, State: store.StateStarting, Tag: "t-{id}",
			Supervisor: "dead", Now: past}); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{ids: map[store.Kind][]int64{}}
	in := New(Config{ID: "me", Volume: "v", Lease: time.Minute}, st, func(*store.Session) {}, nil, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err := in.Join(ctx); err != nil {
		t.Fatal(err)
	}
	in.Register(store.KindBatch, rec.hook(store.KindBatch))
	in.Register(store.KindInteractive, rec.hook(store.KindInteractive))
	if err := in.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if b, s := len(rec.of(store.KindBatch)), len(rec.of(store.KindInteractive)); b != 1 || s != 2 {
		t.Errorf("adopted %d batches and %d sessions, want 1 and 2", b, s)
	}
	if me, err := st.GetInstance(ctx, "me"); err != nil || !me.LeaseUntil.After(time.Now()) {
		t.Errorf("running instance's lease = %+v, %v", me, err)
	}
	in.Stop()
	in.Leave()
	if me, err := st.GetInstance(ctx, "me"); err != nil || me.LeaseUntil.After(time.Now()) {
		t.Errorf("after Leave the lease runs until %v, %v; want now", me.LeaseUntil, err)
	}
}

// Finished sessions of every kind past their retention are purged, their files forgotten;
// running ones and recent ones stay.
func TestRetentionPurgesFinishedSessionsOfEveryKind(t *testing.T) {
	ctx := context.Background()
	st := storetest.Embedded(t)
	now := time.Now()
	dead := store.StateDead
	var old []int64
	for _, kind := range []store.Kind{store.KindBatch, store.KindInteractive} {
		for i, finished := range []time.Time{now.Add(-2 * time.Hour), now, {}} {
			c, err := st.CreateSession(ctx, &store.CreateParams{Kind: kind, State: store.StateStarting, Tag: "t-{id}", Supervisor: "me", Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if !finished.IsZero() {
				st.UpdateSession(ctx, &store.UpdateParams{Kind: kind, ID: c.Session.ID, State: &dead, Now: finished})
			}
			if i == 0 {
				old = append(old, c.Session.ID)
			}
		}
	}
	var mu sync.Mutex
	var forgotten []string
	in := New(Config{ID: "me", RetainFinished: time.Hour}, st, func(sess *store.Session) {
		mu.Lock()
		defer mu.Unlock()
		forgotten = append(forgotten, sess.Tag)
	}, nil, slog.New(slog.NewTextHandler(t.Output(), nil)))
	in.ctx = ctx
	for _, kind := range []store.Kind{store.KindBatch, store.KindInteractive} {
		in.purge(kind)
	}
	if len(forgotten) != 2 {
		t.Errorf("forgot the files of %v, want the two old finished sessions", forgotten)
	}
	for i, kind := range []store.Kind{store.KindBatch, store.KindInteractive} {
		if _, err := st.GetSession(ctx, kind, old[i]); err == nil {
			t.Errorf("old finished %s %d is still stored", kind, old[i])
		}
		if page, _ := st.ListSessions(ctx, &store.ListParams{Kind: kind, Size: 10}); len(page.Sessions) != 2 {
			t.Errorf("%s sessions left: %d, want the recent finished one and the running one", kind, len(page.Sessions))
		}
	}
}
