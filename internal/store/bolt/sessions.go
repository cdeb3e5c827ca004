package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/sparkgate/sparkgate/internal/store"
)

// encode and decode are a session record's stored form, the backends' shared one.
func encode(s *store.Session) ([]byte, error) { return store.EncodeRecord(s) }

func decode(b []byte) (*store.Session, error) { return store.DecodeRecord(b) }

func (s *Store) CreateSession(ctx context.Context, p *store.CreateParams) (*store.Created, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	var out *store.Created
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := bucketsOf(p.Kind)
		var keyBytes []byte
		if p.Key != nil {
			keyBytes = requestKey(p.Key.Scope, p.Key.Key)
			if v := tx.Bucket(b.keys).Get(keyBytes); v != nil {
				sess, err := s.replay(tx, p, parseIDKey(v))
				if err != nil {
					return err
				}
				out = &store.Created{Session: sess, Replayed: true}
				return nil
			}
		}
		var id int64
		if p.ReservedID != nil {
			id = *p.ReservedID
			r, err := getReservation(tx, b, id)
			if err != nil {
				return err
			}
			switch {
			case r.PutKey != p.PutKey:
				return store.ErrPutKeyMismatch
			case r.Used:
				sess, err := s.replay(tx, p, id)
				if err != nil {
					return err
				}
				out = &store.Created{Session: sess, Replayed: true}
				return nil
			case r.CreatedAt.Before(p.ReservedAfter):
				return fmt.Errorf("reservation of id %d expired: %w", id, store.ErrNotFound)
			}
			if err := useReservation(tx, b, id, r); err != nil {
				return err
			}
		}
		if p.MaxActive > 0 && activeOf(tx, p.Owner, p.MaxActive) >= p.MaxActive {
			return fmt.Errorf("%d unfinished sessions: %w", p.MaxActive, store.ErrLimit)
		}
		names := tx.Bucket(b.names)
		if p.Name != "" && names.Get(nameKey(p.Name)) != nil {
			return store.ErrNameTaken
		}
		if p.ReservedID == nil {
			seq, err := tx.Bucket(b.live).NextSequence()
			if err != nil {
				return err
			}
			id = int64(seq) - 1 // Livy's ids start at 0
		}
		sess := store.NewSession(p, id)
		if p.Key != nil {
			if err := tx.Bucket(b.keys).Put(keyBytes, idKey(id)); err != nil {
				return err
			}
			if err := tx.Bucket(b.keyExpiry).Put(expiryKey(p.Now, expiresKey, keyBytes), nil); err != nil {
				return err
			}
		}
		if err := s.put(tx, b, sess); err != nil {
			return err
		}
		if p.Name != "" {
			if err := names.Put(nameKey(p.Name), idKey(sess.ID)); err != nil {
				return err
			}
		}
		if err := addCount(tx, p.Kind, 1); err != nil {
			return err
		}
		out = &store.Created{Session: sess}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// put writes a record into the live or deleted bucket and keeps the state indexes in step.
func (s *Store) put(tx *bbolt.Tx, b buckets, sess *store.Session) error {
	enc, err := encode(sess)
	if err != nil {
		return err
	}
	target := b.live
	if !sess.Visible() {
		target = b.deleted
	}
	key := idKey(sess.ID)
	if err := tx.Bucket(target).Put(key, enc); err != nil {
		return err
	}
	if sess.State.Terminal() {
		if err := tx.Bucket(b.active).Delete(key); err != nil {
			return err
		}
		if err := tx.Bucket(b.activeBy).Delete(ownerKey(sess.Owner, sess.ID)); err != nil {
			return err
		}
		return tx.Bucket(b.finished).Put(finishedKey(sess.FinishedAt, sess.ID), nil)
	}
	if err := tx.Bucket(b.activeBy).Put(ownerKey(sess.Owner, sess.ID), nil); err != nil {
		return err
	}
	return tx.Bucket(b.active).Put(key, nil)
}

// indexActiveByOwner rebuilds the activeBy buckets from the active ones (a store written by
// an older sparkgate has none).
func indexActiveByOwner(tx *bbolt.Tx) error {
	for _, kind := range []store.Kind{store.KindBatch, store.KindInteractive} {
		b := bucketsOf(kind)
		if err := tx.DeleteBucket(b.activeBy); err != nil {
			return err
		}
		byOwner, err := tx.CreateBucket(b.activeBy)
		if err != nil {
			return err
		}
		err = tx.Bucket(b.active).ForEach(func(k, _ []byte) error {
			v := tx.Bucket(b.live).Get(k)
			if v == nil {
				v = tx.Bucket(b.deleted).Get(k)
			}
			if sess, err := store.DecodeRecord(v); err == nil {
				return byOwner.Put(ownerKey(sess.Owner, sess.ID), nil)
			}
			return nil // an unreadable record is skipped everywhere
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func addCount(tx *bbolt.Tx, k store.Kind, delta int64) error {
	meta := tx.Bucket(metaBucket)
	n := parseCount(meta.Get(countKey(k)))
	return meta.Put(countKey(k), countValue(n+delta))
}

func (s *Store) GetSession(ctx context.Context, kind store.Kind, id int64) (*store.Session, error) {
	if err := kind.Check(); err != nil {
		return nil, err
	}
	var out *store.Session
	err := s.view(func(tx *bbolt.Tx) error {
		sess, err := s.load(tx, kind, false, id)
		out = sess
		return err
	})
	return out, err
}

// load decodes one record; a corrupt one is logged and reported as not found, so that one
// bad record never stops the server.
func (s *Store) load(tx *bbolt.Tx, kind store.Kind, deleted bool, id int64) (*store.Session, error) {
	b := bucketsOf(kind)
	name := b.live
	if deleted {
		name = b.deleted
	}
	v := tx.Bucket(name).Get(idKey(id))
	if v == nil {
		return nil, store.ErrNotFound
	}
	sess, err := s.cache.Decode(v)
	if err != nil {
		s.log.Error("skipping unreadable session record", "kind", kind, "deleted", deleted, "id", id, "err", err)
		return nil, store.ErrNotFound
	}
	return sess, nil
}

// loadAny finds a session whether live or deleted.
func (s *Store) loadAny(tx *bbolt.Tx, kind store.Kind, id int64) (*store.Session, error) {
	sess, err := s.load(tx, kind, false, id)
	if errors.Is(err, store.ErrNotFound) {
		sess, err = s.load(tx, kind, true, id)
	}
	return sess, err
}

func (s *Store) GetSessionByName(ctx context.Context, kind store.Kind, name string) (*store.Session, error) {
	if err := kind.Check(); err != nil {
		return nil, err
	}
	var out *store.Session
	err := s.view(func(tx *bbolt.Tx) error {
		b := bucketsOf(kind)
		v := tx.Bucket(b.names).Get(nameKey(name))
		if len(v) != idLen {
			return store.ErrNotFound
		}
		sess, err := s.load(tx, kind, false, parseIDKey(v))
		out = sess
		return err
	})
	return out, err
}

func (s *Store) ListSessions(ctx context.Context, p *store.ListParams) (*store.Page, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	page := &store.Page{Sessions: []*store.Session{}}
	err := s.view(func(tx *bbolt.Tx) error {
		page.Total = int(parseCount(tx.Bucket(metaBucket).Get(countKey(p.Kind))))
		c := tx.Bucket(bucketsOf(p.Kind).live).Cursor()
		skipped := 0
		for k, v := c.First(); k != nil && len(page.Sessions) < p.Size; k, v = c.Next() {
			if skipped < p.From {
				skipped++
				continue
			}
			sess, err := decode(v)
			if err != nil {
				s.log.Error("skipping unreadable session record", "kind", p.Kind, "key", k, "err", err)
				continue
			}
			page.Sessions = append(page.Sessions, sess)
		}
		return nil
	})
	return page, err
}

func (s *Store) ListActive(ctx context.Context, kind store.Kind) ([]*store.Session, error) {
	if err := kind.Check(); err != nil {
		return nil, err
	}
	var out []*store.Session
	err := s.view(func(tx *bbolt.Tx) error {
		b := bucketsOf(kind)
		return tx.Bucket(b.active).ForEach(func(k, _ []byte) error {
			id := parseIDKey(k)
			sess, err := s.loadAny(tx, kind, id)
			if err == nil {
				out = append(out, sess)
			}
			return nil
		})
	})
	return out, err
}

func (s *Store) UpdateSession(ctx context.Context, p *store.UpdateParams) (*store.Session, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	var updated *store.Session
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := bucketsOf(p.Kind)
		sess, err := s.loadAny(tx, p.Kind, p.ID)
		if err != nil {
			return err
		}
		if err := sess.Update(p); err != nil {
			return err
		}
		if err := s.put(tx, b, sess); err != nil {
			return err
		}
		updated = sess
		return nil
	})
	if err != nil {
		return nil, err
	}
	return updated, nil
}

func (s *Store) DeleteSession(ctx context.Context, kind store.Kind, id int64, now time.Time) (*store.Session, error) {
	if err := kind.Check(); err != nil {
		return nil, err
	}
	var before *store.Session
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := bucketsOf(kind)
		sess, err := s.load(tx, kind, false, id)
		if err != nil {
			return err
		}
		prior := *sess
		if err := tx.Bucket(b.live).Delete(idKey(id)); err != nil {
			return err
		}
		if sess.Name != "" {
			if err := tx.Bucket(b.names).Delete(nameKey(sess.Name)); err != nil {
				return err
			}
		}
		sess.MarkDeleted(now)
		if err := s.put(tx, b, sess); err != nil {
			return err
		}
		if err := addCount(tx, kind, -1); err != nil {
			return err
		}
		before = &prior
		return nil
	})
	if err != nil {
		return nil, err
	}
	return before, nil
}

// activeOf counts owner's sessions of every kind not in a terminal state, up to max.
func activeOf(tx *bbolt.Tx, owner string, max int) int {
	return countOwned(tx, owner, max, nil, bucketsOf(store.KindBatch).activeBy, bucketsOf(store.KindInteractive).activeBy)
}

// countOwned counts, up to max, owner's entries in the owner-indexed buckets (ownerKey) whose
// value keep accepts (all, when keep is nil).
func countOwned(tx *bbolt.Tx, owner string, max int, keep func(v []byte) bool, buckets ...[]byte) int {
	n := 0
	prefix := ownerPrefix(owner)
	for _, bucket := range buckets {
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && n < max; k, v = c.Next() {
			if keep == nil || keep(v) {
				n++
			}
		}
	}
	return n
}
