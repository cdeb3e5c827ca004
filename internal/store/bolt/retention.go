package bolt

import (
	"bytes"
	"context"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/sparkgate/sparkgate/internal/store"
)

func (s *Store) PurgeSessions(ctx context.Context, p *store.PurgeParams) ([]*store.Session, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	limit := store.PurgeLimit(p.Limit)
	var purged []*store.Session
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		var out []*store.Session
		b := bucketsOf(p.Kind)
		end := finishedKey(p.Before, 0)
		c := tx.Bucket(b.finished).Cursor()
		var keys [][]byte
		for k, _ := c.First(); k != nil && bytes.Compare(k, end) < 0 && len(keys) < limit; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			_, id := parseFinishedKey(k)
			if err := tx.Bucket(b.finished).Delete(k); err != nil {
				return err
			}
			sess, err := s.loadAny(tx, p.Kind, id)
			if err != nil {
				continue
			}
			if !sess.State.Terminal() || !bytes.Equal(finishedKey(sess.FinishedAt, id), k) {
				continue // a stale index entry; the record itself is not due
			}
			key := idKey(id)
			wasVisible := sess.Visible()
			if wasVisible {
				if err := tx.Bucket(b.live).Delete(key); err != nil {
					return err
				}
				if sess.Name != "" {
					if err := tx.Bucket(b.names).Delete(nameKey(sess.Name)); err != nil {
						return err
					}
				}
				if err := addCount(tx, p.Kind, -1); err != nil {
					return err
				}
			}
			if namedByKey(tx, b, sess) {
				// Out of view, but kept so that a replay of its create still finds it.
				if wasVisible {
					sess.Hidden = true
					enc, err := encode(sess)
					if err != nil {
						return err
					}
					if err := tx.Bucket(b.deleted).Put(key, enc); err != nil {
						return err
					}
				}
				continue
			}
			if !wasVisible {
				if err := tx.Bucket(b.deleted).Delete(key); err != nil {
					return err
				}
			}
			if err := deleteStatements(tx, p.Kind, id); err != nil {
				return err
			}
			out = append(out, sess)
		}
		purged = out
		return nil
	})
	return purged, err
}

func (s *Store) PurgeKeys(ctx context.Context, p *store.PurgeKeysParams) ([]*store.Session, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	limit := store.PurgeLimit(p.Limit)
	var purged []*store.Session
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := bucketsOf(p.Kind)
		var out []*store.Session
		expired := func(bucket []byte, before time.Time) [][]byte {
			var keys [][]byte
			end := expiryBound(before)
			c := tx.Bucket(bucket).Cursor()
			for k, _ := c.First(); k != nil && bytes.Compare(k, end) < 0 && len(keys) < limit; k, _ = c.Next() {
				keys = append(keys, bytes.Clone(k))
			}
			return keys
		}
		for _, k := range expired(b.keyExpiry, p.KeysBefore) {
			if err := tx.Bucket(b.keyExpiry).Delete(k); err != nil {
				return err
			}
			_, typ, payload := parseExpiryKey(k)
			var id int64
			if typ == expiresKey {
				v := tx.Bucket(b.keys).Get(payload)
				if len(v) < idLen {
					continue
				}
				id = parseIDKey(v)
				if err := tx.Bucket(b.keys).Delete(payload); err != nil {
					return err
				}
			} else {
				id = parseIDKey(payload)
				if err := tx.Bucket(b.reservations).Delete(payload); err != nil {
					return err
				}
			}
			// A session kept hidden only for this key, already past its own retention, goes.
			sess, err := s.load(tx, p.Kind, true, id)
			if err != nil || !sess.State.Terminal() || namedByKey(tx, b, sess) ||
				tx.Bucket(b.finished).Get(finishedKey(sess.FinishedAt, id)) != nil {
				continue
			}
			if err := tx.Bucket(b.deleted).Delete(idKey(id)); err != nil {
				return err
			}
			if err := deleteStatements(tx, p.Kind, id); err != nil {
				return err
			}
			out = append(out, sess)
		}
		for _, k := range expired(b.unusedExpiry, p.UnusedBefore) {
			if err := tx.Bucket(b.unusedExpiry).Delete(k); err != nil {
				return err
			}
			_, _, payload := parseExpiryKey(k)
			if r, err := getReservation(tx, b, parseIDKey(payload)); err == nil {
				if err := tx.Bucket(b.unusedBy).Delete(ownerKey(r.Owner, parseIDKey(payload))); err != nil {
					return err
				}
			}
			if err := tx.Bucket(b.reservations).Delete(payload); err != nil {
				return err
			}
		}
		purged = out
		return nil
	})
	return purged, err
}
