// Package store owns the durable record of every session sparkgate has created: the interface
// that each backend implements, the records it keeps and the errors it answers with.
//
// A record is the session's recovery metadata: enough to re-attach to or re-launch its Spark
// application after a crash, and to answer a replayed create. Nothing in a record is HTTP- or
// JSON-view-specific: the request is kept as opaque bytes for the session manager to decode.
package store

import (
	"context"
	"errors"
	"time"
)

// Store is the durable session store. Every method is safe for concurrent use, and every
// write is durable when it returns without error.
type Store interface {
	// CreateSession allocates the next id of the kind (ids are never reused) and stores the
	// record in one transaction. A name already used by a live session gives ErrNameTaken.
	// With an idempotency key or a reserved id, see CreateParams.
	CreateSession(ctx context.Context, p *CreateParams) (*Created, error)
	// FindReplay returns the session an earlier create made under p.Key or p.ReservedID
	// (ErrKeyMismatch when p.Fingerprint differs, ErrPutKeyMismatch for a wrong putKey), or
	// ErrNotFound when there is none. It creates nothing: it lets a replay skip the work of a
	// create, while CreateSession alone decides, atomically, what is created.
	FindReplay(ctx context.Context, p *CreateParams) (*Session, error)
	// AddStatement stores a new statement of a visible interactive session, in state waiting,
	// with the session's next statement id (from 0); an unknown session gives ErrNotFound.
	// With an idempotency key, see AddStatementParams.Key.
	AddStatement(ctx context.Context, p *AddStatementParams) (*Statement, error)
	// GetStatement returns one statement, or ErrNotFound.
	GetStatement(ctx context.Context, sessionID, id int64) (*Statement, error)
	// ListStatements returns a page of a session's statements and how many it has; its cost
	// follows the page, not the session's history.
	ListStatements(ctx context.Context, p *ListStatementsParams) (*StatementPage, error)
	// FirstUnfinishedStatement returns the session's unfinished (waiting, running or
	// cancelling) statement of the lowest id, or ErrNotFound; its cost does not grow with the
	// statements that finished. Statements are handed to the driver in order, one at a time:
	// this is the one handed out, or else the queue's head.
	FirstUnfinishedStatement(ctx context.Context, sessionID int64) (*Statement, error)
	// UpdateStatement applies p and returns the statement.
	UpdateStatement(ctx context.Context, p *UpdateStatementParams) (*Statement, error)
	// RenewLease records that an instance is alive until p.LeaseUntil (creating its entry).
	RenewLease(ctx context.Context, p *LeaseParams) error
	// GetInstance returns an instance's last lease, or ErrNotFound.
	GetInstance(ctx context.Context, id string) (*Instance, error)
	// ListInstances returns every instance's last lease, by id.
	ListInstances(ctx context.Context) ([]*Instance, error)
	// AdoptSessions makes p.InstanceID the supervisor of every unfinished session whose
	// supervisor is unknown or let its lease expire before p.Now, on the same volume, and
	// returns those sessions. Each session is adopted by one instance.
	AdoptSessions(ctx context.Context, p *AdoptParams) ([]*Session, error)
	// ReserveID takes the next id of p.Kind for a later create with ReservedID, guarded by
	// p.PutKey. A reserved id is not a session: it is neither listed nor found.
	ReserveID(ctx context.Context, p *ReserveParams) (int64, error)
	// GetSession returns a live session; a deleted or unknown one gives ErrNotFound.
	GetSession(ctx context.Context, kind Kind, id int64) (*Session, error)
	// GetSessionByName returns the live session with that name, or ErrNotFound.
	GetSessionByName(ctx context.Context, kind Kind, name string) (*Session, error)
	ListSessions(ctx context.Context, p *ListParams) (*Page, error)
	// ListActive returns every session not in a terminal state, deleted or not: the work of
	// recovery after a restart.
	ListActive(ctx context.Context, kind Kind) ([]*Session, error)
	// UpdateSession applies p and returns the updated record. Entering a terminal state
	// stamps FinishedAt.
	UpdateSession(ctx context.Context, p *UpdateParams) (*Session, error)
	// DeleteSession marks a live session deleted (and killed, when it was not terminal),
	// frees its name and returns the record as it was before the call.
	DeleteSession(ctx context.Context, kind Kind, id int64, now time.Time) (*Session, error)
	// PurgeSessions forgets sessions that finished or were deleted before p.Before, and
	// returns them so the caller can remove their files. A session still named by an
	// idempotency key or reservation is only hidden (as if deleted), so that a replay still
	// finds it; PurgeKeys forgets it with its key.
	PurgeSessions(ctx context.Context, p *PurgeParams) ([]*Session, error)
	// PurgeKeys forgets expired keys and reservations, and returns the hidden sessions that
	// were kept only for them, for the caller to remove their files.
	PurgeKeys(ctx context.Context, p *PurgeKeysParams) ([]*Session, error)
	Close() error
}

var (
	ErrNotFound      = errors.New("session not found")
	ErrNameTaken     = errors.New("session name already in use")
	ErrStateConflict = errors.New("session is not in an expected state")
	// ErrKeyMismatch: the idempotency key or reserved id was used for a different request.
	ErrKeyMismatch = errors.New("idempotency key reused with a different request")
	// ErrPutKeyMismatch: the putKey is not the one issued with the reserved id.
	ErrPutKeyMismatch = errors.New("putKey does not match the reservation")
	// ErrLimit: one of the owner's bounds (CreateParams.MaxActive, ReserveParams.MaxUnused,
	// AddStatementParams.MaxStatements) is reached; nothing was written.
	ErrLimit = errors.New("limit reached")
	// ErrUnavailable means the store could not be reached or is closed; the caller may retry.
	ErrUnavailable = errors.New("session store unavailable")
)

// Known reports whether err is one of the errors above or the end of a context: an answer
// the backends pass on as it is, where any other error of theirs is translated.
func Known(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrNameTaken) ||
		errors.Is(err, ErrStateConflict) || errors.Is(err, ErrUnavailable) ||
		errors.Is(err, ErrKeyMismatch) || errors.Is(err, ErrPutKeyMismatch) || errors.Is(err, ErrLimit) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
