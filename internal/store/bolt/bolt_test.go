package bolt_test

import (
	"context"
	"log/slog"

	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/bolt"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "store.db"), testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestRecordsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := bolt.Open(path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting, Tag: "t", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	sess := c.Session
	s.Close()
	s, err = bolt.Open(path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetSession(ctx, store.KindBatch, sess.ID); err != nil {
		t.Errorf("after reopen: %v", err)
	}
	next, _ := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting, Tag: "u", Now: time.Now()})
	if next.Session.ID != sess.ID+1 {
		t.Errorf("id after reopen = %d, want %d (never reused)", next.Session.ID, sess.ID+1)
	}
}

// A corrupt record must be skipped with a log line, never crash or block the others.
func TestCorruptRecordIsSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := bolt.Open(path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bad, _ := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting, Tag: "a", Now: time.Now()})
	good, _ := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting, Tag: "b", Now: time.Now()})
	s.Close()

	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bbolt.Tx) error {
		key := []byte{0, 0, 0, 0, 0, 0, 0, byte(bad.Session.ID)}
		return tx.Bucket([]byte("sessions:batch")).Put(key, []byte("{not json"))
	})
	db.Close()

	s, err = bolt.Open(path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	active, err := s.ListActive(ctx, store.KindBatch)
	if err != nil || len(active) != 1 || active[0].ID != good.Session.ID {
		t.Errorf("ListActive = %v, %v; want only the good record", active, err)
	}
	page, err := s.ListSessions(ctx, &store.ListParams{Kind: store.KindBatch, Size: 10})
	if err != nil || len(page.Sessions) != 1 {
		t.Errorf("ListSessions = %v, %v; want the good record only", page, err)
	}
}

func TestOpenFailsWhileAnotherHoldsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := bolt.Open(path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := bolt.Open(path, testLogger(t)); err == nil {
		t.Fatal("second Open of a held store succeeded")
	}
}

// A store written before the index of unfinished statements existed gets it on open, so that
// its waiting statements still run.
func TestUnfinishedStatementsAreIndexedOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s, err := bolt.Open(path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := s.CreateSession(ctx, &store.CreateParams{Kind: store.KindInteractive, State: store.StateIdle, Tag: "t", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	done, _ := s.AddStatement(ctx, &store.AddStatementParams{SessionID: c.Session.ID, Code: "1"})
	waiting, _ := s.AddStatement(ctx, &store.AddStatementParams{SessionID: c.Session.ID, Code: "2"})
	available := store.StatementAvailable
	s.UpdateStatement(ctx, &store.UpdateStatementParams{SessionID: c.Session.ID, ID: done.ID, State: &available})
	s.Close()

	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte("unfinished-statements")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = bolt.Open(path, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	head, err := s.FirstUnfinishedStatement(ctx, c.Session.ID)
	if err != nil || head.ID != waiting.ID {
		t.Errorf("queue head after reopen = %v, %v; want statement %d", head, err, waiting.ID)
	}
}
