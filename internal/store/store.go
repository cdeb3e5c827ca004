// Package store owns the durable record of every session sparkgate has created: the interface
// that each backend implements, the records it keeps and the errors it answers with.
//
// A record is the session's recovery metadata: enough to re-attach to or re-launch its Spark
// application after a crash, and to answer a replayed create. Nothing in a record is HTTP- or
// JSON-view-specific: the request is kept as opaque bytes for the session manager to decode.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Kind separates the id spaces and names of batches and interactive sessions, as Livy does.
type Kind string

const (
	KindBatch       Kind = "batch"
	KindInteractive Kind = "session"
)

// Valid reports whether k is a kind a backend must accept.
func (k Kind) Valid() bool { return k == KindBatch || k == KindInteractive }

// State is a session's lifecycle state, spelled exactly as Livy spells it.
type State string

const (
	StateNotStarted   State = "not_started"
	StateStarting     State = "starting"
	StateRunning      State = "running"
	StateIdle         State = "idle"
	StateBusy         State = "busy"
	StateShuttingDown State = "shutting_down"
	StateRecovering   State = "recovering"
	StateError        State = "error"
	StateSuccess      State = "success"
	StateDead         State = "dead"
	StateKilled       State = "killed"
)

// Terminal reports whether a session in state s will never change state again.
func (s State) Terminal() bool {
	return s == StateSuccess || s == StateDead || s == StateKilled || s == StateError
}

// SchemaVersion is the version of the record layout this build writes. A backend refuses to
// decode records from a newer version rather than silently dropping fields.
const SchemaVersion = 1

// AppInfo mirrors Livy's appInfo: links a user follows to the application's UI and logs.
type AppInfo struct {
	DriverLogURL    string `json:"driverLogUrl,omitempty"`
	SparkUIURL      string `json:"sparkUiUrl,omitempty"`
	ExecutorLogURLs string `json:"executorLogUrls,omitempty"`
}

// Launch records that a supervisor was started for the session's application.
type Launch struct {
	SupervisorPID int       `json:"supervisorPid"`
	LaunchedAt    time.Time `json:"launchedAt"`
}

// Session is one session's durable record.
type Session struct {
	Kind      Kind   `json:"kind"`
	ID        int64  `json:"id"`
	Name      string `json:"name,omitempty"`
	Owner     string `json:"owner,omitempty"`
	ProxyUser string `json:"proxyUser,omitempty"`
	State     State  `json:"state"`
	// Tag is unique per application and attached to it at launch, so that the application
	// can be found again (by process supervisor record or cluster manager) after a crash.
	Tag     string  `json:"tag"`
	AppID   string  `json:"appId,omitempty"`
	AppInfo AppInfo `json:"appInfo"`
	// Request is the create request (JSON) as the session manager canonicalised it.
	Request json.RawMessage `json:"request"`
	Launch  *Launch         `json:"launch,omitempty"`
	// ExitCode is the application's exit status once known.
	ExitCode *int `json:"exitCode,omitempty"`
	// Reason says, for a terminal state other than success, what ended the session.
	Reason     string    `json:"reason,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	DeletedAt  time.Time `json:"deletedAt,omitzero"`
}

// Deleted reports whether the session was deleted by its user; it is no longer listed.
func (s *Session) Deleted() bool { return !s.DeletedAt.IsZero() }

// CreateParams describes a new session. The backend allocates the id.
type CreateParams struct {
	Kind      Kind
	Name      string
	Owner     string
	ProxyUser string
	State     State
	// Tag is the application tag; "{id}" in it is replaced by the allocated id.
	Tag     string
	Request []byte
	Now     time.Time
}

// UpdateParams changes some fields of one session. Nil fields are left as they are.
type UpdateParams struct {
	Kind Kind
	ID   int64
	// IfStates, when not empty, makes the update conditional: it applies only when the
	// current state is one of these, and fails with ErrStateConflict otherwise. This is how
	// a late "process exited" cannot overwrite a "killed" set by DELETE.
	IfStates []State
	State    *State
	AppID    *string
	AppInfo  *AppInfo
	Launch   *Launch
	ExitCode *int
	Reason   *string
	Now      time.Time
}

// ListParams selects one page of the live (not deleted) sessions of a kind, in id order.
type ListParams struct {
	Kind Kind
	From int
	Size int
}

// Page is one page of sessions and the number of all live sessions of the kind.
type Page struct {
	Sessions []*Session
	Total    int
}

// PurgeParams removes sessions that finished, or were deleted, before a point in time.
type PurgeParams struct {
	Kind   Kind
	Before time.Time
	// Limit bounds the work of one call so that a large purge does not hold the store.
	Limit int
}

// Store is the durable session store. Every method is safe for concurrent use, and every
// write is durable when it returns without error.
type Store interface {
	// CreateSession allocates the next id of the kind (ids are never reused) and stores the
	// record in one transaction. A name already used by a live session gives ErrNameTaken.
	CreateSession(ctx context.Context, p *CreateParams) (*Session, error)
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
	// returns them so the caller can remove their files.
	PurgeSessions(ctx context.Context, p *PurgeParams) ([]*Session, error)
	Close() error
}

var (
	ErrNotFound      = errors.New("session not found")
	ErrNameTaken     = errors.New("session name already in use")
	ErrStateConflict = errors.New("session is not in an expected state")
	// ErrUnavailable means the store could not be reached or is closed; the caller may retry.
	ErrUnavailable = errors.New("session store unavailable")
)
