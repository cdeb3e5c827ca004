package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sparkgate/sparkgate/internal/store"
)

// errUnused: the reserved id exists and was not used yet, so a create may proceed.
var errUnused = fmt.Errorf("reservation not used yet: %w", store.ErrNotFound)

// findReplay looks for the session of p's key or reserved id; forUpdate locks the
// reservation so that two creates under one reserved id serialise.
func findReplay(ctx context.Context, tx pgx.Tx, p *store.CreateParams, forUpdate bool) (*store.Session, error) {
	var id int64
	switch {
	case p.Key != nil:
		err := tx.QueryRow(ctx, `SELECT session_id FROM request_keys WHERE kind = $1 AND scope = $2 AND key = $3`,
			p.Kind, p.Key.Scope, p.Key.Key).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		if err != nil {
			return nil, err
		}
	case p.ReservedID != nil:
		q := `SELECT put_key, used FROM reservations WHERE kind = $1 AND id = $2`
		if forUpdate {
			q += ` FOR UPDATE`
		}
		var putKey string
		var used bool
		err := tx.QueryRow(ctx, q, p.Kind, *p.ReservedID).Scan(&putKey, &used)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil, fmt.Errorf("id %d was never reserved or its reservation expired: %w", *p.ReservedID, store.ErrNotFound)
		case err != nil:
			return nil, err
		case putKey != p.PutKey:
			return nil, store.ErrPutKeyMismatch
		case !used:
			return nil, errUnused
		}
		id = *p.ReservedID
	default:
		return nil, store.ErrNotFound
	}
	sess, err := scanSession(tx.QueryRow(ctx, `SELECT record FROM sessions WHERE kind = $1 AND id = $2`, p.Kind, id))
	if err != nil {
		return nil, fmt.Errorf("session %d of an idempotency key: %w", id, err)
	}
	if err := p.CheckReplay(sess); err != nil {
		return nil, err
	}
	return sess, nil
}

func (s *Store) FindReplay(ctx context.Context, p *store.CreateParams) (*store.Session, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	if p.Key != nil {
		// The hot path of a replayed PUT: one round trip, no transaction.
		sess, err := s.scanCached(s.pool.QueryRow(ctx, `SELECT s.record FROM request_keys k
			JOIN sessions s ON s.kind = k.kind AND s.id = k.session_id
			WHERE k.kind = $1 AND k.scope = $2 AND k.key = $3`, p.Kind, p.Key.Scope, p.Key.Key))
		if err != nil {
			return nil, s.readError(err, p.Kind, p.Key.Key)
		}
		if err := p.CheckReplay(sess); err != nil {
			return nil, err
		}
		return sess, nil
	}
	var out *store.Session
	err := s.tx(ctx, func(tx pgx.Tx) error {
		sess, err := findReplay(ctx, tx, p, false)
		out = sess
		return err
	})
	return out, err
}

func (s *Store) ReserveID(ctx context.Context, p *store.ReserveParams) (int64, error) {
	if err := p.Kind.Check(); err != nil {
		return 0, err
	}
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if p.MaxUnused > 0 {
			if err := lockOwner(ctx, tx, "reserve/"+string(p.Kind), p.Owner); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM reservations WHERE kind = $1 AND owner = $2 AND NOT used AND created_at >= $3`,
				p.Kind, p.Owner, p.UnusedAfter).Scan(&n); err != nil {
				return err
			}
			if n >= p.MaxUnused {
				return fmt.Errorf("%d unused reservations: %w", p.MaxUnused, store.ErrLimit)
			}
		}
		return tx.QueryRow(ctx, `INSERT INTO reservations (kind, id, put_key, owner, created_at)
			VALUES ($1, nextval('`+sequenceOf(p.Kind)+`'), $2, $3, $4) RETURNING id`, p.Kind, p.PutKey, p.Owner, p.Now).Scan(&id)
	})
	return id, err
}

// lockOwner serialises, until tx ends, the transactions that check and then grow one of
// owner's bounds (what: which one), so that concurrent ones on any instance cannot both pass.
func lockOwner(ctx context.Context, tx pgx.Tx, what, owner string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, fmt.Sprintf("%s/%d:%s", what, len(owner), owner))
	return err
}

// namedByKey reports whether an unexpired key or reservation still names the session.
func namedByKey(ctx context.Context, tx pgx.Tx, sess *store.Session) (bool, error) {
	var named bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM request_keys WHERE kind = $1 AND scope = $2 AND key = $3)
		OR ($5 AND EXISTS (SELECT 1 FROM reservations WHERE kind = $1 AND id = $4))`,
		sess.Kind, sess.RequestScope, sess.RequestID, sess.ID, sess.Reserved).Scan(&named)
	return named, err
}
