// Package bolt is the embedded session store: one bbolt file in the data directory, every
// commit fsynced before it is acknowledged.
//
// Concurrent writes are group-committed: whatever writes queue up while one transaction is
// being synced go into the next transaction together, so a burst of creates pays for a few
// fsyncs rather than one each, and a lone write pays for exactly one with no added delay.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/sparkgate/sparkgate/internal/store"
)

var _ store.Store = (*Store)(nil)

// maxGroup bounds how many queued writes share one transaction.
const maxGroup = 256

// Store is the bbolt backend.
type Store struct {
	db     *bbolt.DB
	log    *slog.Logger
	writes chan *write
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	cache  store.DecodeCache
}

type write struct {
	fn   func(tx *bbolt.Tx) error
	done chan error
}

// Open opens (creating if needed) the store file at path.
func Open(path string, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create store directory: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open store %s: another sparkgate holds it: %w", path, store.ErrUnavailable)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, k := range []store.Kind{store.KindBatch, store.KindInteractive} {
			for _, b := range bucketNames(k) {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
		}
		for _, b := range [][]byte{instancesBucket, statementsBucket, statementKeysBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if err := indexUnfinished(tx); err != nil {
			return err
		}
		if err := indexActiveByOwner(tx); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(metaBucket)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("initialise store %s: %w", path, err)
	}
	s := &Store{db: db, log: log, writes: make(chan *write, maxGroup), stop: make(chan struct{}), done: make(chan struct{})}
	go s.commitLoop()
	return s, nil
}

// Close stops the committer and closes the file. Writes after Close fail with ErrUnavailable.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		err = s.db.Close()
	})
	return err
}

func (s *Store) commitLoop() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			for {
				select {
				case w := <-s.writes:
					w.done <- fmt.Errorf("store closed: %w", store.ErrUnavailable)
				default:
					return
				}
			}
		case w := <-s.writes:
			group := []*write{w}
		drain:
			for len(group) < maxGroup {
				select {
				case w := <-s.writes:
					group = append(group, w)
				default:
					break drain
				}
			}
			s.commit(group)
		}
	}
}

// commit runs a group in one transaction. When one write of the group fails, the
// transaction is rolled back and every write is run again alone, so that one write's
// error never undoes another's.
func (s *Store) commit(group []*write) {
	if len(group) > 1 {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for _, w := range group {
				if err := w.fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			for _, w := range group {
				w.done <- nil
			}
			return
		}
	}
	for _, w := range group {
		w.done <- s.db.Update(w.fn)
	}
}

// update runs fn in a durable write transaction shared with other concurrent writes. fn must
// assign its results only after its last possible error, since it may run twice.
func (s *Store) update(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	w := &write{fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- w:
	case <-s.stop:
		return fmt.Errorf("store closed: %w", store.ErrUnavailable)
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the write will be committed or refused promptly; waiting for the answer
	// (rather than giving up on ctx) keeps the caller from guessing at the outcome.
	return interpret(<-w.done)
}

func (s *Store) view(fn func(tx *bbolt.Tx) error) error {
	return interpret(s.db.View(fn))
}

// interpret keeps bbolt's errors behind the interface.
func interpret(err error) error {
	switch {
	case err == nil:
		return nil
	case store.Known(err):
		return err
	default:
		return fmt.Errorf("bolt: %v: %w", err, store.ErrUnavailable)
	}
}
