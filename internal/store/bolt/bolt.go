// Package bolt is the embedded session store: one bbolt file in the data directory, every
// commit fsynced before it is acknowledged.
//
// Concurrent writes are group-committed: whatever writes queue up while one transaction is
// being synced go into the next transaction together, so a burst of creates pays for a few
// fsyncs rather than one each, and a lone write pays for exactly one with no added delay.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/sparkgate/sparkgate/internal/store"
)

var _ store.Store = (*Store)(nil)

// maxGroup bounds how many queued writes share one transaction.
const maxGroup = 256

// Store is the bbolt backend.
type Store struct {
	db     *bbolt.DB
	log    *slog.Logger
	writes chan *write
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	cache  store.DecodeCache
}

type write struct {
	fn   func(tx *bbolt.Tx) error
	done chan error
}

// Open opens (creating if needed) the store file at path.
func Open(path string, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create store directory: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open store %s: another sparkgate holds it: %w", path, store.ErrUnavailable)
		}
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, k := range []store.Kind{store.KindBatch, store.KindInteractive} {
			for _, b := range bucketNames(k) {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
		}
		for _, b := range [][]byte{instancesBucket, statementsBucket} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if err := indexUnfinished(tx); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(metaBucket)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("initialise store %s: %w", path, err)
	}
	s := &Store{db: db, log: log, writes: make(chan *write, maxGroup), stop: make(chan struct{}), done: make(chan struct{})}
	go s.commitLoop()
	return s, nil
}

// Close stops the committer and closes the file. Writes after Close fail with ErrUnavailable.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		err = s.db.Close()
	})
	return err
}

var (
	metaBucket       = []byte("meta")
	instancesBucket  = []byte("instances")  // instance id -> lease
	statementsBucket = []byte("statements") // session id + statement id -> statement
	// unfinishedBucket indexes the statements that wait, run or are being cancelled (same key,
	// the state as value): the queue and the session's busy state are read from it, not from
	// every statement a long session ever ran.
	unfinishedBucket = []byte("unfinished-statements")
)

// buckets of one kind. Records live in "live" while visible and in "deleted" once deleted or
// hidden; "keys" maps scope+requestId to an id; "reservations" maps reserved ids to their
// putKey; the other buckets are indexes ordered for recovery, retention and expiry.
type buckets struct {
	live, deleted, names, active, finished []byte
	keys, keyExpiry                        []byte
	reservations, unusedExpiry             []byte
}

func bucketsOf(k store.Kind) buckets {
	return buckets{
		live:         []byte("sessions:" + string(k)),
		deleted:      []byte("deleted:" + string(k)),
		names:        []byte("names:" + string(k)),
		active:       []byte("active:" + string(k)),
		finished:     []byte("finished:" + string(k)),
		keys:         []byte("keys:" + string(k)),
		keyExpiry:    []byte("keyexpiry:" + string(k)),
		reservations: []byte("reservations:" + string(k)),
		unusedExpiry: []byte("unusedexpiry:" + string(k)),
	}
}

func bucketNames(k store.Kind) [][]byte {
	b := bucketsOf(k)
	return [][]byte{b.live, b.deleted, b.names, b.active, b.finished, b.keys, b.keyExpiry, b.reservations, b.unusedExpiry}
}

func countKey(k store.Kind) []byte { return []byte("count:" + string(k)) }

func idKey(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func finishedKey(at time.Time, id int64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano())), uint64(id))
}

func encode(s *store.Session) ([]byte, error) { return store.EncodeRecord(s) }

func decode(b []byte) (*store.Session, error) { return store.DecodeRecord(b) }

func (s *Store) commitLoop() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			for {
				select {
				case w := <-s.writes:
					w.done <- fmt.Errorf("store closed: %w", store.ErrUnavailable)
				default:
					return
				}
			}
		case w := <-s.writes:
			group := []*write{w}
		drain:
			for len(group) < maxGroup {
				select {
				case w := <-s.writes:
					group = append(group, w)
				default:
					break drain
				}
			}
			s.commit(group)
		}
	}
}

// commit runs a group in one transaction. When one write of the group fails, the
// transaction is rolled back and every write is run again alone, so that one write's
// error never undoes another's.
func (s *Store) commit(group []*write) {
	if len(group) > 1 {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for _, w := range group {
				if err := w.fn(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			for _, w := range group {
				w.done <- nil
			}
			return
		}
	}
	for _, w := range group {
		w.done <- s.db.Update(w.fn)
	}
}

// update runs fn in a durable write transaction shared with other concurrent writes. fn must
// assign its results only after its last possible error, since it may run twice.
func (s *Store) update(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	w := &write{fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- w:
	case <-s.stop:
		return fmt.Errorf("store closed: %w", store.ErrUnavailable)
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the write will be committed or refused promptly; waiting for the answer
	// (rather than giving up on ctx) keeps the caller from guessing at the outcome.
	return interpret(<-w.done)
}

func (s *Store) view(fn func(tx *bbolt.Tx) error) error {
	return interpret(s.db.View(fn))
}

// interpret keeps bbolt's errors behind the interface.
func interpret(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrNameTaken),
		errors.Is(err, store.ErrStateConflict), errors.Is(err, store.ErrUnavailable),
		errors.Is(err, store.ErrKeyMismatch), errors.Is(err, store.ErrPutKeyMismatch),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	default:
		return fmt.Errorf("bolt: %v: %w", err, store.ErrUnavailable)
	}
}

func (s *Store) CreateSession(ctx context.Context, p *store.CreateParams) (*store.Created, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	var out *store.Created
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := bucketsOf(p.Kind)
		var keyBytes []byte
		if p.Key != nil {
			keyBytes = []byte(p.Key.Scope + "\x00" + p.Key.Key)
			if v := tx.Bucket(b.keys).Get(keyBytes); v != nil {
				sess, err := s.replay(tx, p, int64(binary.BigEndian.Uint64(v[:8])))
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
		names := tx.Bucket(b.names)
		if p.Name != "" && names.Get([]byte(p.Name)) != nil {
			return store.ErrNameTaken
		}
		if p.ReservedID == nil {
			seq, err := tx.Bucket(b.live).NextSequence()
			if err != nil {
				return err
			}
			id = int64(seq) - 1 // Livy's ids start at 0
		}
		sess := &store.Session{
			Kind: p.Kind, ID: id, Name: p.Name, Owner: p.Owner, ProxyUser: p.ProxyUser, State: p.State,
			Tag: strings.ReplaceAll(p.Tag, "{id}", strconv.FormatInt(id, 10)), Supervisor: p.Supervisor, SecretHash: p.SecretHash,
			Request: p.Request, Fingerprint: p.Fingerprint, Reserved: p.ReservedID != nil,
			CreatedAt: p.Now, UpdatedAt: p.Now,
		}
		if p.Key != nil {
			sess.RequestID, sess.RequestScope = p.Key.Key, p.Key.Scope
			if err := tx.Bucket(b.keys).Put(keyBytes, binary.BigEndian.AppendUint64(nil, uint64(id))); err != nil {
				return err
			}
			if err := tx.Bucket(b.keyExpiry).Put(expiryKey(p.Now, 'k', keyBytes), nil); err != nil {
				return err
			}
		}
		if err := s.put(tx, b, sess); err != nil {
			return err
		}
		if p.Name != "" {
			if err := names.Put([]byte(p.Name), idKey(sess.ID)); err != nil {
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

func (s *Store) FindReplay(ctx context.Context, p *store.CreateParams) (*store.Session, error) {
	if err := p.Kind.Check(); err != nil {
		return nil, err
	}
	var out *store.Session
	err := s.view(func(tx *bbolt.Tx) error {
		b := bucketsOf(p.Kind)
		switch {
		case p.Key != nil:
			v := tx.Bucket(b.keys).Get([]byte(p.Key.Scope + "\x00" + p.Key.Key))
			if v == nil {
				return store.ErrNotFound
			}
			sess, err := s.replay(tx, p, int64(binary.BigEndian.Uint64(v[:8])))
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
	if sess.Fingerprint != p.Fingerprint {
		return nil, store.ErrKeyMismatch
	}
	return sess, nil
}

type reservation struct {
	PutKey    string    `json:"putKey"`
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
	if err := tx.Bucket(b.unusedExpiry).Delete(expiryKey(r.CreatedAt, 'r', idKey(id))); err != nil {
		return err
	}
	return tx.Bucket(b.keyExpiry).Put(expiryKey(r.CreatedAt, 'r', idKey(id)), nil)
}

func expiryKey(at time.Time, typ byte, payload []byte) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))
	return append(append(k, typ), payload...)
}

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
		return tx.Bucket(instancesBucket).Put([]byte(p.InstanceID), enc)
	})
}

func (s *Store) GetInstance(ctx context.Context, id string) (*store.Instance, error) {
	var out *store.Instance
	err := s.view(func(tx *bbolt.Tx) error {
		var l lease
		v := tx.Bucket(instancesBucket).Get([]byte(id))
		if v == nil || json.Unmarshal(v, &l) != nil {
			return fmt.Errorf("instance %q: %w", id, store.ErrNotFound)
		}
		out = &store.Instance{ID: id, Addr: l.Addr, Volume: l.Volume, LeaseUntil: l.Until}
		return nil
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
			ids = append(ids, int64(binary.BigEndian.Uint64(k)))
			return nil
		})
		for _, id := range ids {
			sess, err := s.loadAny(tx, p.Kind, id)
			if err != nil || sess.Supervisor == p.InstanceID {
				continue
			}
			var l lease
			if v := tx.Bucket(instancesBucket).Get([]byte(sess.Supervisor)); sess.Supervisor != "" && json.Unmarshal(v, &l) == nil {
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

func statementKey(sessionID, id int64) []byte {
	return binary.BigEndian.AppendUint64(idKey(sessionID), uint64(id))
}

func (s *Store) AddStatement(ctx context.Context, p *store.AddStatementParams) (*store.Statement, error) {
	var out *store.Statement
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		if _, err := s.load(tx, store.KindInteractive, false, p.SessionID); err != nil {
			return err
		}
		id := nextStatementID(tx, p.SessionID)
		st := &store.Statement{SessionID: p.SessionID, ID: id, Code: p.Code, Kind: p.Kind,
			State: store.StatementWaiting, CreatedAt: p.Now}
		enc, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if err := tx.Bucket(statementsBucket).Put(statementKey(p.SessionID, id), enc); err != nil {
			return err
		}
		if err := indexStatement(tx, st); err != nil {
			return err
		}
		out = st
		return nil
	})
	return out, err
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
	k, _ := c.Seek(idKey(sessionID + 1))
	if k != nil {
		k, _ = c.Prev()
	} else {
		k, _ = c.Last()
	}
	if k == nil || !bytes.HasPrefix(k, idKey(sessionID)) {
		return 0
	}
	return int64(binary.BigEndian.Uint64(k[8:])) + 1
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

func (s *Store) FirstWaitingStatement(ctx context.Context, sessionID int64) (*store.Statement, error) {
	var out *store.Statement
	err := s.view(func(tx *bbolt.Tx) error {
		prefix := idKey(sessionID)
		c := tx.Bucket(unfinishedBucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if store.StatementState(v) == store.StatementWaiting {
				st, err := getStatement(tx, sessionID, int64(binary.BigEndian.Uint64(k[8:])))
				out = st
				return err
			}
		}
		return fmt.Errorf("no waiting statement in session %d: %w", sessionID, store.ErrNotFound)
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
	prefix := idKey(sessionID)
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
	prefix := idKey(sessionID)
	for _, b := range [][]byte{statementsBucket, unfinishedBucket} {
		c := tx.Bucket(b).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) ReserveID(ctx context.Context, kind store.Kind, putKey string, now time.Time) (int64, error) {
	if err := kind.Check(); err != nil {
		return 0, err
	}
	var id int64
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := bucketsOf(kind)
		seq, err := tx.Bucket(b.live).NextSequence()
		if err != nil {
			return err
		}
		enc, err := json.Marshal(&reservation{PutKey: putKey, CreatedAt: now})
		if err != nil {
			return err
		}
		rid := int64(seq) - 1
		if err := tx.Bucket(b.reservations).Put(idKey(rid), enc); err != nil {
			return err
		}
		if err := tx.Bucket(b.unusedExpiry).Put(expiryKey(now, 'r', idKey(rid)), nil); err != nil {
			return err
		}
		id = rid
		return nil
	})
	return id, err
}

// namedByKey reports whether an unexpired key or reservation still names the session.
func namedByKey(tx *bbolt.Tx, b buckets, sess *store.Session) bool {
	if sess.RequestID != "" && tx.Bucket(b.keys).Get([]byte(sess.RequestScope+"\x00"+sess.RequestID)) != nil {
		return true
	}
	return sess.Reserved && tx.Bucket(b.reservations).Get(idKey(sess.ID)) != nil
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
		return tx.Bucket(b.finished).Put(finishedKey(sess.FinishedAt, sess.ID), nil)
	}
	return tx.Bucket(b.active).Put(key, nil)
}

func addCount(tx *bbolt.Tx, k store.Kind, delta int64) error {
	meta := tx.Bucket(metaBucket)
	var n int64
	if v := meta.Get(countKey(k)); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	return meta.Put(countKey(k), binary.BigEndian.AppendUint64(nil, uint64(n+delta)))
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

func (s *Store) GetSessionByName(ctx context.Context, kind store.Kind, name string) (*store.Session, error) {
	if err := kind.Check(); err != nil {
		return nil, err
	}
	var out *store.Session
	err := s.view(func(tx *bbolt.Tx) error {
		b := bucketsOf(kind)
		v := tx.Bucket(b.names).Get([]byte(name))
		if len(v) != 8 {
			return store.ErrNotFound
		}
		sess, err := s.load(tx, kind, false, int64(binary.BigEndian.Uint64(v)))
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
		if v := tx.Bucket(metaBucket).Get(countKey(p.Kind)); len(v) == 8 {
			page.Total = int(binary.BigEndian.Uint64(v))
		}
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
			id := int64(binary.BigEndian.Uint64(k))
			sess, err := s.loadAny(tx, kind, id)
			if err == nil {
				out = append(out, sess)
			}
			return nil
		})
	})
	return out, err
}

// loadAny finds a session whether live or deleted.
func (s *Store) loadAny(tx *bbolt.Tx, kind store.Kind, id int64) (*store.Session, error) {
	sess, err := s.load(tx, kind, false, id)
	if errors.Is(err, store.ErrNotFound) {
		sess, err = s.load(tx, kind, true, id)
	}
	return sess, err
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
			if err := tx.Bucket(b.names).Delete([]byte(sess.Name)); err != nil {
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
			id := int64(binary.BigEndian.Uint64(k[8:]))
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
					if err := tx.Bucket(b.names).Delete([]byte(sess.Name)); err != nil {
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
			end := binary.BigEndian.AppendUint64(nil, uint64(before.UnixNano()))
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
			payload := k[9:]
			var id int64
			if k[8] == 'k' {
				v := tx.Bucket(b.keys).Get(payload)
				if len(v) < 8 {
					continue
				}
				id = int64(binary.BigEndian.Uint64(v[:8]))
				if err := tx.Bucket(b.keys).Delete(payload); err != nil {
					return err
				}
			} else {
				id = int64(binary.BigEndian.Uint64(payload))
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
			if err := tx.Bucket(b.reservations).Delete(k[9:]); err != nil {
				return err
			}
		}
		purged = out
		return nil
	})
	return purged, err
}
