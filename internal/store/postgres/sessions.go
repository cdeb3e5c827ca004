package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sparkgate/sparkgate/internal/store"
)

func sequenceOf(k store.Kind) string {
	if k == store.KindInteractive {
		return "session_ids"
	}
	return "batch_ids"
}

func scanSession(r row) (*store.Session, error) {
	var raw []byte
	if err := r.Scan(&raw); err != nil {
		return nil, err
	}
	return store.DecodeRecord(raw)
}

// scanCached is scanSession for the hot read paths, through the decode cache.
func (s *Store) scanCached(r row) (*store.Session, error) {
	var raw []byte
	if err := r.Scan(&raw); err != nil {
		return nil, err
	}
	return s.cache.Decode(raw)
}

// write stores a record and its indexed columns.
func write(ctx context.Context, tx pgx.Tx, sess *store.Session, insert bool) error {
	enc, err := store.EncodeRecord(sess)
	if err != nil {
		return err
	}
	var name *string
	if sess.Name != "" {
		name = &sess.Name
	}
	var finished *time.Time
	if sess.State.Terminal() {
		finished = &sess.FinishedAt
	}
	var supervisor *string
	if sess.Supervisor != "" {
		supervisor = &sess.Supervisor
	}
	if insert {
		_, err = tx.Exec(ctx, `INSERT INTO sessions (kind, id, name, visible, terminal, finished_at, record, supervisor)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, sess.Kind, sess.ID, name, sess.Visible(), sess.State.Terminal(), finished, enc, supervisor)
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE sessions SET name = $3, visible = $4, terminal = $5, finished_at = $6, record = $7, supervisor = $8
		WHERE kind = $1 AND id = $2`, sess.Kind, sess.ID, name, sess.Visible(), sess.State.Terminal(), finished, enc, supervisor)
	return err
}

func (s *Store) CreateSession(ctx context.Context, p *store.CreateParams) (*store.Created, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	var out *store.Created
	err := s.tx(ctx, func(tx pgx.Tx) error {
		out = nil
		if p.MaxActive > 0 {
			// before looking for a replay: a concurrent create of the same key is then seen
			// committed, and answered as a replay rather than counted
			if err := lockOwner(ctx, tx, "active", p.Owner); err != nil {
				return err
			}
		}
		if sess, err := findReplay(ctx, tx, p, true); err == nil {
			out = &store.Created{Session: sess, Replayed: true}
			return nil
		} else if !errors.Is(err, store.ErrNotFound) || (p.ReservedID != nil && !errors.Is(err, errUnused)) {
			return err
		}
		if p.MaxActive > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE NOT terminal AND owner = $1`, p.Owner).Scan(&n); err != nil {
				return err
			}
			if n >= p.MaxActive {
				return fmt.Errorf("%d unfinished sessions: %w", p.MaxActive, store.ErrLimit)
			}
		}
		var id int64
		if p.ReservedID != nil {
			id = *p.ReservedID
			var created time.Time
			if err := tx.QueryRow(ctx, `SELECT created_at FROM reservations WHERE kind = $1 AND id = $2`, p.Kind, id).Scan(&created); err != nil {
				return err
			}
			if created.Before(p.ReservedAfter) {
				return fmt.Errorf("reservation of id %d expired: %w", id, store.ErrNotFound)
			}
			if _, err := tx.Exec(ctx, `UPDATE reservations SET used = true WHERE kind = $1 AND id = $2`, p.Kind, id); err != nil {
				return err
			}
		} else if err := tx.QueryRow(ctx, `SELECT nextval('`+sequenceOf(p.Kind)+`')`).Scan(&id); err != nil {
			return err
		}
		if p.Key != nil {
			tag, err := tx.Exec(ctx, `INSERT INTO request_keys (kind, scope, key, session_id, created_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, p.Kind, p.Key.Scope, p.Key.Key, id, p.Now)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				// A concurrent create with the same key committed first: this is its replay.
				sess, err := findReplay(ctx, tx, p, false)
				if err != nil {
					return err
				}
				out = &store.Created{Session: sess, Replayed: true}
				return nil
			}
		}
		sess := store.NewSession(p, id)
		if err := write(ctx, tx, sess, true); err != nil {
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

func (s *Store) GetSession(ctx context.Context, kind store.Kind, id int64) (*store.Session, error) {
	if err := kind.Check(); err != nil {
		return nil, err
	}
	sess, err := s.scanCached(s.pool.QueryRow(ctx, `SELECT record FROM sessions WHERE kind = $1 AND id = $2 AND visible`, kind, id))
	return sess, s.readError(err, kind, id)
}

// readError reports a corrupt record as not found (with a log line), so one bad record never
// stops the server.
func (s *Store) readError(err error, kind store.Kind, id any) error {
	if err != nil && !errors.Is(err, pgx.ErrNoRows) && strings.HasPrefix(err.Error(), "corrupt record") {
		s.log.Error("skipping unreadable session record", "kind", kind, "id", id, "err", err)
		return store.ErrNotFound
	}
	return interpret(err)
}

func (s *Store) GetSessionByName(ctx context.Context, kind store.Kind, name string) (*store.Session, error) {
	if err := kind.Check(); err != nil {
		return nil, err
	}
	sess, err := scanSession(s.pool.QueryRow(ctx, `SELECT record FROM sessions WHERE kind = $1 AND name = $2 AND visible`, kind, name))
	return sess, s.readError(err, kind, name)
}

// list decodes every row of a query, skipping (and logging) unreadable records.
func (s *Store) list(ctx context.Context, q pgx.Tx, query string, args ...any) ([]*store.Session, error) {
	var rows pgx.Rows
	var err error
	if q != nil {
		rows, err = q.Query(ctx, query, args...)
	} else {
		rows, err = s.pool.Query(ctx, query, args...)
	}
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	out := []*store.Session{}
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			s.log.Error("skipping unreadable session record", "err", err)
			continue
		}
		out = append(out, sess)
	}
	return out, interpret(rows.Err())
}

func (s *Store) ListSessions(ctx context.Context, p *store.ListParams) (*store.Page, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	page := &store.Page{}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE kind = $1 AND visible`, p.Kind).Scan(&page.Total); err != nil {
		return nil, interpret(err)
	}
	var err error
	page.Sessions, err = s.list(ctx, nil, `SELECT record FROM sessions WHERE kind = $1 AND visible ORDER BY id OFFSET $2 LIMIT $3`,
		p.Kind, p.From, p.Size)
	return page, err
}

func (s *Store) ListActive(ctx context.Context, kind store.Kind) ([]*store.Session, error) {
	if err := kind.Check(); err != nil {
		return nil, err
	}
	return s.list(ctx, nil, `SELECT record FROM sessions WHERE kind = $1 AND NOT terminal ORDER BY id`, kind)
}

func (s *Store) UpdateSession(ctx context.Context, p *store.UpdateParams) (*store.Session, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	var out *store.Session
	err := s.tx(ctx, func(tx pgx.Tx) error {
		sess, err := scanSession(tx.QueryRow(ctx, `SELECT record FROM sessions WHERE kind = $1 AND id = $2 FOR UPDATE`, p.Kind, p.ID))
		if err != nil {
			return err
		}
		if err := sess.Update(p); err != nil {
			return err
		}
		if err := write(ctx, tx, sess, false); err != nil {
			return err
		}
		out = sess
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) DeleteSession(ctx context.Context, kind store.Kind, id int64, now time.Time) (*store.Session, error) {
	if err := kind.Check(); err != nil {
		return nil, err
	}
	var before *store.Session
	err := s.tx(ctx, func(tx pgx.Tx) error {
		sess, err := scanSession(tx.QueryRow(ctx, `SELECT record FROM sessions WHERE kind = $1 AND id = $2 AND visible FOR UPDATE`, kind, id))
		if err != nil {
			return err
		}
		prior := *sess
		sess.MarkDeleted(now)
		if err := write(ctx, tx, sess, false); err != nil {
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
