package leakcheck

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

type fakeCluster struct {
	mu     sync.Mutex
	tags   []string
	killed []string
	err    error
}

func (f *fakeCluster) Tagged(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tags), f.err
}

func (f *fakeCluster) Kill(_ context.Context, tag string, force bool) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !force {
		f.killed = append(f.killed, tag)
	}
	return true, nil
}

func TestOnlyApplicationsWithoutALiveSessionAreKilledAndOnlyAfterTheGrace(t *testing.T) {
	ctx := context.Background()
	st := storetest.Embedded(t)
	now := time.Now()
	create := func(kind store.Kind, suffix string) *store.Session {
		c, err := st.CreateSession(ctx, &store.CreateParams{Kind: kind, State: store.StateRunning, Tag: "sparkgate-" + map[store.Kind]string{store.KindBatch: "batch", store.KindInteractive: "session"}[kind] + "-{id}-" + suffix, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return c.Session
	}
	live := create(store.KindBatch, "aa")
	ended := create(store.KindBatch, "bb")
	dead := store.StateDead
	if _, err := st.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: ended.ID, State: &dead, Now: now}); err != nil {
		t.Fatal(err)
	}
	session := create(store.KindInteractive, "cc")
	if _, err := st.DeleteSession(ctx, store.KindInteractive, session.ID, now); err != nil {
		t.Fatal(err)
	}
	cluster := &fakeCluster{tags: []string{
		live.Tag, ended.Tag, session.Tag,
		"sparkgate-batch-99-dd",          // no such session
		"sparkgate-batch-0-ee",           // session 0 runs another application (aa)
		"someone-elses-tag", "sparkgate", // not applications of ours
	}}
	c := New(cluster, st, time.Minute, 10*time.Minute, slog.New(slog.DiscardHandler))
	clock := now
	c.now = func() time.Time { return clock }
	if killed := c.Check(ctx); len(killed) != 0 {
		t.Fatalf("killed %v at first sight; the grace comes first", killed)
	}
	clock = clock.Add(5 * time.Minute)
	if killed := c.Check(ctx); len(killed) != 0 {
		t.Fatalf("killed %v within the grace", killed)
	}
	clock = clock.Add(6 * time.Minute)
	killed := c.Check(ctx)
	slices.Sort(killed)
	want := []string{"sparkgate-batch-0-ee", "sparkgate-batch-99-dd", ended.Tag, session.Tag}
	slices.Sort(want)
	slices.Sort(cluster.killed)
	if !slices.Equal(killed, want) || !slices.Equal(cluster.killed, killed) {
		t.Errorf("killed %v (cluster saw %v), want %v", killed, cluster.killed, want)
	}
}

func TestACandidateThatWentAwayStartsItsGraceAgain(t *testing.T) {
	ctx := context.Background()
	cluster := &fakeCluster{tags: []string{"sparkgate-batch-5-ab"}}
	c := New(cluster, storetest.Embedded(t), time.Minute, 10*time.Minute, slog.New(slog.DiscardHandler))
	clock := time.Now()
	c.now = func() time.Time { return clock }
	c.Check(ctx)
	cluster.tags = nil
	clock = clock.Add(9 * time.Minute)
	c.Check(ctx)
	cluster.tags = []string{"sparkgate-batch-5-ab"}
	clock = clock.Add(2 * time.Minute)
	if killed := c.Check(ctx); len(killed) != 0 {
		t.Errorf("killed %v: its grace began again when it came back", killed)
	}
	cluster.err = errors.New("RM down")
	clock = clock.Add(time.Hour)
	if killed := c.Check(ctx); len(killed) != 0 {
		t.Errorf("killed %v without a view of the cluster", killed)
	}
}
