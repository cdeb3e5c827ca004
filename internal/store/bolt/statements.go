package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/sparkgate/sparkgate/internal/store"
)

// indexUnfinished creates the unfinished-statements index, filling it from the statements
// when the store was written by a version without it.
func indexUnfinished(tx *bbolt.Tx) error {
	if tx.Bucket(unfinishedBucket) != nil {
		return nil
	}
	idx, err := tx.CreateBucket(unfinishedBucket)
	if err != nil {
		return err
	}
	return tx.Bucket(statementsBucket).ForEach(func(k, v []byte) error {
		var st struct{ State store.StatementState }
		if json.Unmarshal(v, &st) == nil && st.State.Unfinished() {
			return idx.Put(bytes.Clone(k), []byte(st.State))
		}
		return nil
	})
}

// indexStatement keeps the unfinished-statements index in step with a statement's state.
func indexStatement(tx *bbolt.Tx, st *store.Statement) error {
	key := statementKey(st.SessionID, st.ID)
	if st.State.Unfinished() {
		return tx.Bucket(unfinishedBucket).Put(key, []byte(st.State))
	}
	return tx.Bucket(unfinishedBucket).Delete(key)
}

func (s *Store) AddStatement(ctx context.Context, p *store.AddStatementParams) (*store.Statement, error) {
	var out *store.Statement
	// One write transaction at a time: the key's lookup and the statement's insert cannot
	// interleave with another add's.
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		if _, err := s.load(tx, store.KindInteractive, false, p.SessionID); err != nil {
			return err
		}
		keys := tx.Bucket(statementKeysBucket)
		var requestKey []byte
		if p.Key != nil {
			requestKey = statementRequestKey(p.SessionID, store.StatementRequestKey(p.Key))
			if v := keys.Get(requestKey); v != nil {
				st, err := getStatement(tx, p.SessionID, parseIDKey(v))
				if err != nil {
					return fmt.Errorf("statement of an idempotency key: %w", err)
				}
				out = st
				return p.CheckReplay(st)
			}
		}
		if p.ReplayOnly {
			return fmt.Errorf("no statement of that key in session %d: %w", p.SessionID, store.ErrStateConflict)
		}
		id := nextStatementID(tx, p.SessionID)
		if p.MaxStatements > 0 && id >= int64(p.MaxStatements) {
			return fmt.Errorf("%d statements: %w", p.MaxStatements, store.ErrLimit)
		}
		st := store.NewStatement(p, id)
		enc, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if err := tx.Bucket(statementsBucket).Put(statementKey(p.SessionID, id), enc); err != nil {
			return err
		}
		if requestKey != nil {
			if err := keys.Put(requestKey, idKey(id)); err != nil {
				return err
			}
		}
		if err := indexStatement(tx, st); err != nil {
			return err
		}
		out = st
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func getStatement(tx *bbolt.Tx, sessionID, id int64) (*store.Statement, error) {
	v := tx.Bucket(statementsBucket).Get(statementKey(sessionID, id))
	if v == nil {
		return nil, fmt.Errorf("statement %d of session %d: %w", id, sessionID, store.ErrNotFound)
	}
	var st store.Statement
	if err := json.Unmarshal(v, &st); err != nil {
		return nil, fmt.Errorf("statement %d of session %d is unreadable: %w", id, sessionID, store.ErrNotFound)
	}
	return &st, nil
}

func (s *Store) GetStatement(ctx context.Context, sessionID, id int64) (*store.Statement, error) {
	var out *store.Statement
	err := s.view(func(tx *bbolt.Tx) error {
		st, err := getStatement(tx, sessionID, id)
		out = st
		return err
	})
	return out, err
}

func (s *Store) ListStatements(ctx context.Context, p *store.ListStatementsParams) (*store.StatementPage, error) {
	page := &store.StatementPage{Statements: []*store.Statement{}}
	err := s.view(func(tx *bbolt.Tx) error {
		page.Total = int(nextStatementID(tx, p.SessionID))
		lo, hi := p.IDs(int64(page.Total))
		if hi < lo {
			return nil
		}
		c := tx.Bucket(statementsBucket).Cursor()
		for k, v := c.Seek(statementKey(p.SessionID, lo)); k != nil && bytes.Compare(k, statementKey(p.SessionID, hi)) <= 0; k, v = c.Next() {
			var st store.Statement
			if err := json.Unmarshal(v, &st); err != nil {
				s.log.Error("skipping unreadable statement", "session", p.SessionID, "err", err)
				continue
			}
			page.Statements = append(page.Statements, &st)
		}
		return nil
	})
	if p.Desc {
		slices.Reverse(page.Statements)
	}
	return page, err
}

// nextStatementID is the id of the session's next statement: one more than its last.
func nextStatementID(tx *bbolt.Tx, sessionID int64) int64 {
	c := tx.Bucket(statementsBucket).Cursor()
	k, _ := c.Seek(statementPrefix(sessionID + 1))
	if k != nil {
		k, _ = c.Prev()
	} else {
		k, _ = c.Last()
	}
	if k == nil || !bytes.HasPrefix(k, statementPrefix(sessionID)) {
		return 0
	}
	_, last := parseStatementKey(k)
	return last + 1
}

func (s *Store) UpdateStatement(ctx context.Context, p *store.UpdateStatementParams) (*store.Statement, error) {
	var out *store.Statement
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		st, err := getStatement(tx, p.SessionID, p.ID)
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
		if err := tx.Bucket(statementsBucket).Put(statementKey(p.SessionID, p.ID), enc); err != nil {
			return err
		}
		if err := indexStatement(tx, st); err != nil {
			return err
		}
		out = st
		if p.Settle {
			return s.settle(tx, p.SessionID, p.Now)
		}
		return nil
	})
	return out, err
}

func (s *Store) FirstUnfinishedStatement(ctx context.Context, sessionID int64) (*store.Statement, error) {
	var out *store.Statement
	err := s.view(func(tx *bbolt.Tx) error {
		prefix := statementPrefix(sessionID)
		if k, _ := tx.Bucket(unfinishedBucket).Cursor().Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) {
			_, id := parseStatementKey(k)
			st, err := getStatement(tx, sessionID, id)
			out = st
			return err
		}
		return fmt.Errorf("no unfinished statement in session %d: %w", sessionID, store.ErrNotFound)
	})
	return out, err
}

// settle applies Session.Settle to an interactive session within tx.
func (s *Store) settle(tx *bbolt.Tx, sessionID int64, now time.Time) error {
	sess, err := s.loadAny(tx, store.KindInteractive, sessionID)
	if err != nil {
		return err
	}
	var states []store.StatementState
	prefix := statementPrefix(sessionID)
	c := tx.Bucket(unfinishedBucket).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		states = append(states, store.StatementState(v))
	}
	sess.Settle(states, now)
	return s.put(tx, bucketsOf(store.KindInteractive), sess)
}

// deleteStatements removes the statements of a purged interactive session.
func deleteStatements(tx *bbolt.Tx, kind store.Kind, sessionID int64) error {
	if kind != store.KindInteractive {
		return nil
	}
	prefix := statementPrefix(sessionID)
	for _, b := range [][]byte{statementsBucket, unfinishedBucket, statementKeysBucket} {
		c := tx.Bucket(b).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	return nil
}
