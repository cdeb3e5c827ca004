// Package postgres is the session store for several sparkgate instances sharing one
// PostgreSQL database. Ids come from sequences; names, request keys and reservations are
// unique by constraint; the schema is created and upgraded by embedded goose migrations run
// under an advisory lock, so that instances starting together do not race.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
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
	case store.Known(err):
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
