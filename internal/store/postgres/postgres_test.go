package postgres_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/postgres"
	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

func open(t *testing.T, u string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), u, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	pgtest.BaseURL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.URL(t)) })
}

// Instances starting together migrate once, under the advisory lock, and share the store.
func TestConcurrentStartsMigrateOnce(t *testing.T) {
	u := pgtest.URL(t)
	stores := make(chan *postgres.Store, 3)
	for range 3 {
		go func() { stores <- open(t, u) }()
	}
	var all []*postgres.Store
	for range 3 {
		all = append(all, <-stores)
	}
	ctx := context.Background()
	c, err := all[0].CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting, Tag: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := all[2].GetSession(ctx, store.KindBatch, c.Session.ID); err != nil || got.Tag != "t" {
		t.Errorf("another instance reads %v, %v", got, err)
	}
	for _, s := range all {
		s.Close()
	}
}
