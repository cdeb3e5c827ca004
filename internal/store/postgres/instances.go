package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/sparkgate/sparkgate/internal/store"
)

func (s *Store) RenewLease(ctx context.Context, p *store.LeaseParams) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO instances (id, addr, volume, lease_until) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET addr = excluded.addr, volume = excluded.volume, lease_until = excluded.lease_until`,
		p.InstanceID, p.Addr, p.Volume, p.LeaseUntil)
	return interpret(err)
}

func (s *Store) GetInstance(ctx context.Context, id string) (*store.Instance, error) {
	inst := &store.Instance{ID: id}
	err := s.pool.QueryRow(ctx, `SELECT addr, volume, lease_until FROM instances WHERE id = $1`, id).
		Scan(&inst.Addr, &inst.Volume, &inst.LeaseUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("instance %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, interpret(err)
	}
	return inst, nil
}

func (s *Store) ListInstances(ctx context.Context) ([]*store.Instance, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, addr, volume, lease_until FROM instances ORDER BY id`)
	if err != nil {
		return nil, interpret(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Instance, error) {
		inst := &store.Instance{}
		return inst, r.Scan(&inst.ID, &inst.Addr, &inst.Volume, &inst.LeaseUntil)
	})
	return out, interpret(err)
}

// liveSupervisor holds for a session row s whose supervisor is an instance with a lease at $3
// (a time) or one on another volume than $4, whose local applications this one cannot see.
const liveSupervisor = `EXISTS (SELECT 1 FROM instances i WHERE i.id = s.supervisor AND (i.lease_until >= $3 OR i.volume <> $4))`

func (s *Store) AdoptSessions(ctx context.Context, p *store.AdoptParams) ([]*store.Session, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	var adopted []*store.Session
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// SKIP LOCKED: instances adopting at once split the orphans instead of waiting.
		candidates, err := s.list(ctx, tx, `SELECT record FROM sessions s WHERE kind = $1 AND NOT terminal
			AND supervisor IS DISTINCT FROM $2
			AND NOT `+liveSupervisor+`
			ORDER BY id FOR UPDATE SKIP LOCKED`, p.Kind, p.InstanceID, p.Now, p.Volume)
		if err != nil || len(candidates) == 0 {
			return err
		}
		// Under READ COMMITTED a row a peer adopted and committed meanwhile comes back locked in
		// its new version, yet PostgreSQL rechecks the anti-join against the old snapshot's
		// (absent) match and keeps it. Now that the rows are locked, a second statement sees
		// every committed change: an orphan is one whose current supervisor is still not live.
		ids := make([]int64, len(candidates))
		for i, sess := range candidates {
			ids[i] = sess.ID
		}
		rows, err := tx.Query(ctx, `SELECT id FROM sessions s WHERE kind = $1 AND id = ANY($5)
			AND supervisor IS DISTINCT FROM $2 AND NOT `+liveSupervisor, p.Kind, p.InstanceID, p.Now, p.Volume, ids)
		if err != nil {
			return err
		}
		orphan, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		adopted = adopted[:0]
		for _, sess := range candidates {
			if !slices.Contains(orphan, sess.ID) {
				continue
			}
			sess.Supervisor = p.InstanceID
			if err := write(ctx, tx, sess, false); err != nil {
				return err
			}
			adopted = append(adopted, sess)
		}
		return nil
	})
	return adopted, err
}
