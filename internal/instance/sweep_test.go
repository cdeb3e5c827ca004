package instance

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

// fakeHoldings is a data directory of application directories, some with uploads.
type fakeHoldings struct {
	mu                sync.Mutex
	held              []Held
	uploadsGone, gone []string
}

func (f *fakeHoldings) Held() ([]Held, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.held), nil
}

func (f *fakeHoldings) RemoveUploads(tag string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploadsGone = append(f.uploadsGone, tag)
	return nil
}

func (f *fakeHoldings) Remove(tag string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gone = append(f.gone, tag)
	return nil
}

// Every instance cleans the files it holds, whoever ran the session's end or its purge (a
// fleet with a data directory per host): the uploads of a session that is not running any
// more at once, the whole directory of one the store no longer shows once it is unchanged
// for as long as a replay may still show it; a running or a listed session keeps its files.
func TestSweepRemovesTheFilesOfEndedAndForgottenSessions(t *testing.T) {
	ctx := context.Background()
	st := storetest.Embedded(t)
	now := time.Now()
	old, recent := now.Add(-8*24*time.Hour), now.Add(-time.Minute)
	create := func(kind store.Kind, state store.State) *store.Session {
		c, err := st.CreateSession(ctx, &store.CreateParams{Kind: kind, State: store.StateStarting,
			Tag: "sparkgate-" + string(kind) + "-{id}-abcdef0123", Supervisor: "peer", Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if state != store.StateStarting {
			if _, err := st.UpdateSession(ctx, &store.UpdateParams{Kind: kind, ID: c.Session.ID, State: &state, Now: now}); err != nil {
				t.Fatal(err)
			}
		}
		return c.Session
	}
	running := create(store.KindInteractive, store.StateIdle).Tag
	ended := create(store.KindInteractive, store.StateDead).Tag
	del := create(store.KindInteractive, store.StateDead)
	if _, err := st.DeleteSession(ctx, store.KindInteractive, del.ID, now); err != nil {
		t.Fatal(err)
	}
	deleted := del.Tag
	batch := create(store.KindBatch, store.StateSuccess).Tag
	purged, purgedRecently := "sparkgate-session-41-abcdef0123", "sparkgate-batch-42-abcdef0123"
	h := &fakeHoldings{held: []Held{
		{Tag: running, Changed: old, Uploads: true},
		{Tag: ended, Changed: old, Uploads: true},
		{Tag: deleted, Changed: recent, Uploads: true},
		{Tag: batch, Changed: old},
		{Tag: purged, Changed: old, Uploads: true},
		{Tag: purgedRecently, Changed: recent},
	}}
	in := New(Config{ID: "me", Holdings: h}, st, func(*store.Session) {}, nil, slog.New(slog.NewTextHandler(t.Output(), nil)))
	in.ctx = ctx
	in.sweep()
	slices.Sort(h.uploadsGone)
	wantUploads := []string{deleted, ended, purged}
	slices.Sort(wantUploads)
	if !slices.Equal(h.uploadsGone, wantUploads) {
		t.Errorf("uploads removed of %v, want %v (every session not running)", h.uploadsGone, wantUploads)
	}
	if !slices.Equal(h.gone, []string{purged}) {
		t.Errorf("directories removed: %v, want only %s (gone from the store, unchanged past the retentions)", h.gone, purged)
	}
}
