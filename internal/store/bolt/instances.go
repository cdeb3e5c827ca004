package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/sparkgate/sparkgate/internal/store"
)

// lease is an instance's entry in the instances bucket.
type lease struct {
	Addr   string    `json:"addr"`
	Volume string    `json:"volume"`
	Until  time.Time `json:"until"`
}

func (s *Store) RenewLease(ctx context.Context, p *store.LeaseParams) error {
	enc, err := json.Marshal(&lease{Addr: p.Addr, Volume: p.Volume, Until: p.LeaseUntil})
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(instancesBucket).Put(instanceKey(p.InstanceID), enc)
	})
}

func (s *Store) GetInstance(ctx context.Context, id string) (*store.Instance, error) {
	var out *store.Instance
	err := s.view(func(tx *bbolt.Tx) error {
		var l lease
		v := tx.Bucket(instancesBucket).Get(instanceKey(id))
		if v == nil || json.Unmarshal(v, &l) != nil {
			return fmt.Errorf("instance %q: %w", id, store.ErrNotFound)
		}
		out = &store.Instance{ID: id, Addr: l.Addr, Volume: l.Volume, LeaseUntil: l.Until}
		return nil
	})
	return out, err
}

func (s *Store) ListInstances(ctx context.Context) ([]*store.Instance, error) {
	var out []*store.Instance
	err := s.view(func(tx *bbolt.Tx) error {
		return tx.Bucket(instancesBucket).ForEach(func(k, v []byte) error {
			var l lease
			if json.Unmarshal(v, &l) == nil {
				out = append(out, &store.Instance{ID: string(k), Addr: l.Addr, Volume: l.Volume, LeaseUntil: l.Until})
			}
			return nil
		})
	})
	return out, err
}

func (s *Store) AdoptSessions(ctx context.Context, p *store.AdoptParams) ([]*store.Session, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	var adopted []*store.Session
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		var out []*store.Session
		b := bucketsOf(p.Kind)
		var ids []int64
		tx.Bucket(b.active).ForEach(func(k, _ []byte) error {
			ids = append(ids, parseIDKey(k))
			return nil
		})
		for _, id := range ids {
			sess, err := s.loadAny(tx, p.Kind, id)
			if err != nil || sess.Supervisor == p.InstanceID {
				continue
			}
			var l lease
			if v := tx.Bucket(instancesBucket).Get(instanceKey(sess.Supervisor)); sess.Supervisor != "" && json.Unmarshal(v, &l) == nil {
				if !l.Until.Before(p.Now) || l.Volume != p.Volume {
					continue // its supervisor is alive, or its applications are out of our sight
				}
			}
			sess.Supervisor = p.InstanceID
			if err := s.put(tx, b, sess); err != nil {
				return err
			}
			out = append(out, sess)
		}
		adopted = out
		return nil
	})
	return adopted, err
}
