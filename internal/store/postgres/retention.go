package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/sparkgate/sparkgate/internal/store"
)

func (s *Store) PurgeSessions(ctx context.Context, p *store.PurgeParams) ([]*store.Session, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	limit := store.PurgeLimit(p.Limit)
	var purged []*store.Session
	err := s.tx(ctx, func(tx pgx.Tx) error {
		due, err := s.list(ctx, tx, `SELECT record FROM sessions WHERE kind = $1 AND terminal AND finished_at < $2
			ORDER BY finished_at LIMIT $3 FOR UPDATE SKIP LOCKED`, p.Kind, p.Before, limit)
		if err != nil {
			return err
		}
		purged = purged[:0]
		for _, sess := range due {
			named, err := namedByKey(ctx, tx, sess)
			if err != nil {
				return err
			}
			if named {
				// Out of view, but kept so that a replay of its create still finds it; a null
				// finished_at marks it done for retention (the record keeps the time).
				if sess.Visible() {
					sess.Hidden = true
				}
				enc, err := store.EncodeRecord(sess)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE sessions SET visible = false, finished_at = NULL, record = $3
					WHERE kind = $1 AND id = $2`, p.Kind, sess.ID, enc); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE kind = $1 AND id = $2`, p.Kind, sess.ID); err != nil {
				return err
			}
			purged = append(purged, sess)
		}
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		purged = purged[:0]
		rows, err := tx.Query(ctx, `
			WITH expired_keys AS (
				DELETE FROM request_keys WHERE ctid IN (
					SELECT ctid FROM request_keys WHERE kind = $1 AND created_at < $2 LIMIT $4)
				RETURNING session_id),
			expired_reservations AS (
				DELETE FROM reservations WHERE ctid IN (
					SELECT ctid FROM reservations WHERE kind = $1
						AND ((used AND created_at < $2) OR (NOT used AND created_at < $3)) LIMIT $4)
				RETURNING id, used)
			SELECT session_id FROM expired_keys
			UNION SELECT id FROM expired_reservations WHERE used`, p.Kind, p.KeysBefore, p.UnusedBefore, limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		// Sessions kept hidden only for these keys, and already past their own retention, go.
		for _, id := range ids {
			sess, err := scanSession(tx.QueryRow(ctx, `SELECT record FROM sessions
				WHERE kind = $1 AND id = $2 AND NOT visible AND terminal AND finished_at IS NULL FOR UPDATE`, p.Kind, id))
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if named, err := namedByKey(ctx, tx, sess); err != nil || named {
				if err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE kind = $1 AND id = $2`, p.Kind, id); err != nil {
				return err
			}
			purged = append(purged, sess)
		}
		return nil
	})
	return purged, err
}
