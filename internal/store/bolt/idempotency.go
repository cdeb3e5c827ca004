package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/sparkgate/sparkgate/internal/store"
)

func (s *Store) FindReplay(ctx context.Context, p *store.CreateParams) (*store.Session, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	var out *store.Session
	err := s.view(func(tx *bbolt.Tx) error {
		b := bucketsOf(p.Kind)
		switch {
		case p.Key != nil:
			v := tx.Bucket(b.keys).Get(requestKey(p.Key.Scope, p.Key.Key))
			if v == nil {
				return store.ErrNotFound
			}
			sess, err := s.replay(tx, p, parseIDKey(v))
			out = sess
			return err
		case p.ReservedID != nil:
			r, err := getReservation(tx, b, *p.ReservedID)
			switch {
			case err != nil:
				return err
			case r.PutKey != p.PutKey:
				return store.ErrPutKeyMismatch
			case !r.Used:
				return store.ErrNotFound
			}
			sess, err := s.replay(tx, p, *p.ReservedID)
			out = sess
			return err
		}
		return store.ErrNotFound
	})
	return out, err
}

// replay returns the session an earlier create made under the same key or reserved id, if
// this create asks for the same thing.
func (s *Store) replay(tx *bbolt.Tx, p *store.CreateParams, id int64) (*store.Session, error) {
	sess, err := s.loadAny(tx, p.Kind, id)
	if err != nil {
		return nil, fmt.Errorf("session %d of an idempotency key: %w", id, err)
	}
	if err := p.CheckReplay(sess); err != nil {
		return nil, err
	}
	return sess, nil
}

func (s *Store) ReserveID(ctx context.Context, p *store.ReserveParams) (int64, error) {
	if err := p.Kind.Check(); err != nil {
		return 0, err
	}
	var id int64
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := bucketsOf(p.Kind)
		if p.MaxUnused > 0 && unusedOf(tx, b, p.Owner, p.UnusedAfter, p.MaxUnused) >= p.MaxUnused {
			return fmt.Errorf("%d unused reservations: %w", p.MaxUnused, store.ErrLimit)
		}
		seq, err := tx.Bucket(b.live).NextSequence()
		if err != nil {
			return err
		}
		enc, err := json.Marshal(&reservation{PutKey: p.PutKey, Owner: p.Owner, CreatedAt: p.Now})
		if err != nil {
			return err
		}
		rid := int64(seq) - 1
		if err := tx.Bucket(b.reservations).Put(idKey(rid), enc); err != nil {
			return err
		}
		if err := tx.Bucket(b.unusedExpiry).Put(expiryKey(p.Now, expiresReservation, idKey(rid)), nil); err != nil {
			return err
		}
		if err := tx.Bucket(b.unusedBy).Put(ownerKey(p.Owner, rid), timeKey(p.Now)); err != nil {
			return err
		}
		id = rid
		return nil
	})
	return id, err
}

// unusedOf counts owner's unused reservations made at or after since, up to max: the
// expired ones, which purging has not reached yet, do not count.
func unusedOf(tx *bbolt.Tx, b buckets, owner string, since time.Time, max int) int {
	return countOwned(tx, owner, max, func(v []byte) bool { return len(v) >= timeLen && !parseTimeKey(v).Before(since) }, b.unusedBy)
}

type reservation struct {
	PutKey    string    `json:"putKey"`
	Owner     string    `json:"owner,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	Used      bool      `json:"used,omitempty"`
}

func getReservation(tx *bbolt.Tx, b buckets, id int64) (*reservation, error) {
	v := tx.Bucket(b.reservations).Get(idKey(id))
	if v == nil {
		return nil, fmt.Errorf("id %d was never reserved or its reservation expired: %w", id, store.ErrNotFound)
	}
	var r reservation
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("reservation of id %d is unreadable: %w", id, store.ErrNotFound)
	}
	return &r, nil
}

// useReservation marks a reservation used: from then on it lives as long as an idempotency key.
func useReservation(tx *bbolt.Tx, b buckets, id int64, r *reservation) error {
	r.Used = true
	enc, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := tx.Bucket(b.reservations).Put(idKey(id), enc); err != nil {
		return err
	}
	if err := tx.Bucket(b.unusedExpiry).Delete(expiryKey(r.CreatedAt, expiresReservation, idKey(id))); err != nil {
		return err
	}
	if err := tx.Bucket(b.unusedBy).Delete(ownerKey(r.Owner, id)); err != nil {
		return err
	}
	return tx.Bucket(b.keyExpiry).Put(expiryKey(r.CreatedAt, expiresReservation, idKey(id)), nil)
}

// namedByKey reports whether an unexpired key or reservation still names the session.
func namedByKey(tx *bbolt.Tx, b buckets, sess *store.Session) bool {
	if sess.RequestID != "" && tx.Bucket(b.keys).Get(requestKey(sess.RequestScope, sess.RequestID)) != nil {
		return true
	}
	return sess.Reserved && tx.Bucket(b.reservations).Get(idKey(sess.ID)) != nil
}
