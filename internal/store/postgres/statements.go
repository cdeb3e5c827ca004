package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sparkgate/sparkgate/internal/store"
)

func (s *Store) AddStatement(ctx context.Context, p *store.AddStatementParams) (*store.Statement, error) {
	var out *store.Statement
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// Locking the session serialises the statements of one session, so ids follow each other.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM sessions WHERE kind = $1 AND id = $2 AND visible FOR UPDATE`,
			store.KindInteractive, p.SessionID).Scan(&one); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(id) + 1, 0) FROM statements WHERE session_id = $1`, p.SessionID).Scan(&id); err != nil {
			return err
		}
		var refusal error
		switch {
		case p.ReplayOnly:
			refusal = fmt.Errorf("no statement of that key in session %d: %w", p.SessionID, store.ErrStateConflict)
		case p.MaxStatements > 0 && id >= int64(p.MaxStatements):
			refusal = fmt.Errorf("%d statements: %w", p.MaxStatements, store.ErrLimit)
		}
		if refusal != nil {
			if p.Key != nil { // a replay is answered all the same
				st, err := keyedStatement(ctx, tx, p)
				if err == nil || !errors.Is(err, store.ErrNotFound) {
					out = st
					return err
				}
			}
			return refusal
		}
		st := store.NewStatement(p, id)
		enc, err := json.Marshal(st)
		if err != nil {
			return err
		}
		// The unique index of (session_id, request_key) decides between concurrent adds under
		// one key: the one that inserts nothing answers with the statement of the one that did.
		tag, err := tx.Exec(ctx, `INSERT INTO statements (session_id, id, record) VALUES ($1, $2, $3)
			ON CONFLICT (session_id, request_key) WHERE request_key IS NOT NULL DO NOTHING`, p.SessionID, id, enc)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			st, err = keyedStatement(ctx, tx, p)
		}
		out = st
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// keyedStatement returns the statement of the session added under p.Key, checked as a replay
// of p, or ErrNotFound.
func keyedStatement(ctx context.Context, tx pgx.Tx, p *store.AddStatementParams) (*store.Statement, error) {
	st, err := scanStatement(tx.QueryRow(ctx, `SELECT record FROM statements WHERE session_id = $1 AND request_key = $2`,
		p.SessionID, store.StatementRequestKey(p.Key)))
	if err != nil {
		return nil, fmt.Errorf("statement of an idempotency key: %w", interpret(err))
	}
	if err := p.CheckReplay(st); err != nil {
		return nil, err
	}
	return st, nil
}

func scanStatement(r row) (*store.Statement, error) {
	var raw []byte
	if err := r.Scan(&raw); err != nil {
		return nil, err
	}
	var st store.Statement
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("unreadable statement: %w", err)
	}
	return &st, nil
}

func (s *Store) GetStatement(ctx context.Context, sessionID, id int64) (*store.Statement, error) {
	st, err := scanStatement(s.pool.QueryRow(ctx, `SELECT record FROM statements WHERE session_id = $1 AND id = $2`, sessionID, id))
	return st, interpret(err)
}

func (s *Store) ListStatements(ctx context.Context, p *store.ListStatementsParams) (*store.StatementPage, error) {
	page := &store.StatementPage{Statements: []*store.Statement{}}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var next int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(max(id) + 1, 0) FROM statements WHERE session_id = $1`, p.SessionID).Scan(&next); err != nil {
			return err
		}
		page.Total = int(next)
		lo, hi := p.IDs(next)
		order := "ASC"
		if p.Desc {
			order = "DESC"
		}
		rows, err := tx.Query(ctx, `SELECT record FROM statements WHERE session_id = $1 AND id BETWEEN $2 AND $3 ORDER BY id `+order, p.SessionID, lo, hi)
		if err != nil {
			return err
		}
		defer rows.Close()
		page.Statements = page.Statements[:0]
		for rows.Next() {
			st, err := scanStatement(rows)
			if err != nil {
				s.log.Error("skipping unreadable statement", "session", p.SessionID, "err", err)
				continue
			}
			page.Statements = append(page.Statements, st)
		}
		return rows.Err()
	})
	return page, err
}

func (s *Store) UpdateStatement(ctx context.Context, p *store.UpdateStatementParams) (*store.Statement, error) {
	var out *store.Statement
	err := s.tx(ctx, func(tx pgx.Tx) error {
		st, err := scanStatement(tx.QueryRow(ctx, `SELECT record FROM statements WHERE session_id = $1 AND id = $2 FOR UPDATE`, p.SessionID, p.ID))
		if err != nil {
			return err
		}
		if err := st.Update(p); err != nil {
			return err
		}
		enc, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE statements SET record = $3 WHERE session_id = $1 AND id = $2`, p.SessionID, p.ID, enc); err != nil {
			return err
		}
		out = st
		if p.Settle {
			return settle(ctx, tx, p.SessionID, p.Now)
		}
		return nil
	})
	return out, err
}

func (s *Store) FirstUnfinishedStatement(ctx context.Context, sessionID int64) (*store.Statement, error) {
	st, err := scanStatement(s.pool.QueryRow(ctx, `SELECT record FROM statements
		WHERE session_id = $1 AND state IN ('waiting', 'running', 'cancelling')
		ORDER BY id LIMIT 1`, sessionID))
	return st, interpret(err)
}

// settle applies Session.Settle to an interactive session within tx.
func settle(ctx context.Context, tx pgx.Tx, sessionID int64, now time.Time) error {
	sess, err := scanSession(tx.QueryRow(ctx, `SELECT record FROM sessions WHERE kind = $1 AND id = $2 FOR UPDATE`, store.KindInteractive, sessionID))
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT DISTINCT state FROM statements
		WHERE session_id = $1 AND state IN ('waiting', 'running', 'cancelling')`, sessionID)
	if err != nil {
		return err
	}
	states, err := pgx.CollectRows(rows, pgx.RowTo[store.StatementState])
	if err != nil {
		return err
	}
	sess.Settle(states, now)
	return write(ctx, tx, sess, false)
}
