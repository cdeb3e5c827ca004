// Package postgres is the session store for several sparkgate instances sharing one
// PostgreSQL database. Ids come from sequences; names, request keys and reservations are
// unique by constraint; the schema is created and upgraded by embedded goose migrations run
// under an advisory lock, so that instances starting together do not race.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/sparkgate/sparkgate/internal/store"
)

var _ store.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL backend.
type Store struct {
	pool  *pgxpool.Pool
	log   *slog.Logger
	cache store.DecodeCache
}

// Open connects to the database at url (postgres://…), applies pending migrations under an
// advisory lock and returns the store.
func Open(ctx context.Context, url string, log *slog.Logger) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := migrate(ctx, pool, log); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool, log: log}, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		log.Info("applied store migration", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

func sequenceOf(k store.Kind) string {
	if k == store.KindInteractive {
		return "session_ids"
	}
	return "batch_ids"
}

// tx runs fn in a transaction, again when PostgreSQL aborted it for a serialization failure
// or deadlock (the transaction then did nothing), and translates the errors.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01") && attempt < 10 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
			}
			continue
		}
		return interpret(err)
	}
}

// interpret keeps PostgreSQL's and pgx's errors behind the interface.
func interpret(err error) error {
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrNameTaken),
		errors.Is(err, store.ErrStateConflict), errors.Is(err, store.ErrKeyMismatch),
		errors.Is(err, store.ErrPutKeyMismatch), errors.Is(err, store.ErrUnavailable),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, pgx.ErrNoRows):
		return store.ErrNotFound
	case errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "sessions_live_name":
		return store.ErrNameTaken
	case errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57") ||
		pgErr.Code == "53300" || pgErr.Code == "40001" || pgErr.Code == "40P01"):
		// connection exceptions, operator intervention (a restart), too many connections
		return fmt.Errorf("postgres: %s: %w", pgErr.Code, store.ErrUnavailable)
	case errors.As(err, &netErr), pgconn.SafeToRetry(err), strings.Contains(err.Error(), "failed to connect"),
		strings.Contains(err.Error(), "conn closed"), strings.Contains(err.Error(), "unexpected EOF"):
		return fmt.Errorf("postgres: %v: %w", err, store.ErrUnavailable)
	}
	return fmt.Errorf("postgres: %w", err)
}

type row interface{ Scan(dest ...any) error }

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
		if sess, err := findReplay(ctx, tx, p, true); err == nil {
			out = &store.Created{Session: sess, Replayed: true}
			return nil
		} else if !errors.Is(err, store.ErrNotFound) || (p.ReservedID != nil && !errors.Is(err, errUnused)) {
			return err
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
		sess := &store.Session{
			Kind: p.Kind, ID: id, Name: p.Name, Owner: p.Owner, ProxyUser: p.ProxyUser, State: p.State,
			Tag: strings.ReplaceAll(p.Tag, "{id}", strconv.FormatInt(id, 10)), Supervisor: p.Supervisor, SecretHash: p.SecretHash,
			Request: p.Request, Fingerprint: p.Fingerprint, Reserved: p.ReservedID != nil,
			CreatedAt: p.Now, UpdatedAt: p.Now,
		}
		if p.Key != nil {
			sess.RequestID, sess.RequestScope = p.Key.Key, p.Key.Scope
		}
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
	if sess.Fingerprint != p.Fingerprint {
		return nil, store.ErrKeyMismatch
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
		if sess.Fingerprint != p.Fingerprint {
			return nil, store.ErrKeyMismatch
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
		st := &store.Statement{SessionID: p.SessionID, ID: id, Code: p.Code, Kind: p.Kind, State: store.StatementWaiting, CreatedAt: p.Now}
		enc, err := json.Marshal(st)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO statements (session_id, id, record) VALUES ($1, $2, $3)`, p.SessionID, id, enc); err != nil {
			return err
		}
		out = st
		return nil
	})
	return out, err
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

func (s *Store) FirstWaitingStatement(ctx context.Context, sessionID int64) (*store.Statement, error) {
	st, err := scanStatement(s.pool.QueryRow(ctx, `SELECT record FROM statements
		WHERE session_id = $1 AND state IN ('waiting', 'running', 'cancelling') AND state = 'waiting'
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

func (s *Store) ReserveID(ctx context.Context, kind store.Kind, putKey string, now time.Time) (int64, error) {
	if err := kind.Check(); err != nil {
		return 0, err
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO reservations (kind, id, put_key, created_at)
		VALUES ($1, nextval('`+sequenceOf(kind)+`'), $2, $3) RETURNING id`, kind, putKey, now).Scan(&id)
	return id, interpret(err)
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

// namedByKey reports whether an unexpired key or reservation still names the session.
func namedByKey(ctx context.Context, tx pgx.Tx, sess *store.Session) (bool, error) {
	var named bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM request_keys WHERE kind = $1 AND scope = $2 AND key = $3)
		OR ($5 AND EXISTS (SELECT 1 FROM reservations WHERE kind = $1 AND id = $4))`,
		sess.Kind, sess.RequestScope, sess.RequestID, sess.ID, sess.Reserved).Scan(&named)
	return named, err
}

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
