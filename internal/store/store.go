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
	"fmt"
	"slices"
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

// Check is Valid as an error, for the backends' argument checks.
func (k Kind) Check() error {
	if !k.Valid() {
		return fmt.Errorf("unknown session kind %q", k)
	}
	return nil
}

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
	// RequestID is the idempotency key the session was created under (LIVY-782), and
	// RequestScope whose key it is (kind and user); empty when created by a plain POST.
	RequestID    string `json:"requestId,omitempty"`
	RequestScope string `json:"requestScope,omitempty"`
	// Reserved marks a session created under an id reserved beforehand (POST /{type}/id).
	Reserved bool `json:"reserved,omitempty"`
	// Fingerprint identifies the create request, to tell a replay from a different request.
	Fingerprint string `json:"fingerprint,omitempty"`
	// ExitCode is the application's exit status once known.
	ExitCode *int `json:"exitCode,omitempty"`
	// Reason says, for a terminal state other than success, what ended the session.
	Reason     string    `json:"reason,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	DeletedAt  time.Time `json:"deletedAt,omitzero"`
	// SecretHash is the SHA-256 (hex) of the secret an interactive session's driver proves
	// itself with; the secret itself lives only in the driver's environment.
	SecretHash string `json:"secretHash,omitempty"`
	// Supervisor is the server instance that supervises the session while it is not finished:
	// it launches and watches its application. Another instance adopts the session when the
	// supervisor's lease expires.
	Supervisor string `json:"supervisor,omitempty"`
	// Hidden marks a session past its retention that is kept, out of view, only because an
	// idempotency key or reservation still names it.
	Hidden bool `json:"hidden,omitempty"`
	// ActiveAt is the last activity of an interactive session's user (a statement run, a
	// cancel, a completion), and HeartbeatAt the last request of a client that named it: the
	// clocks of the idle and heartbeat timeouts. Zero means not since the session's creation.
	ActiveAt    time.Time `json:"activeAt,omitzero"`
	HeartbeatAt time.Time `json:"heartbeatAt,omitzero"`
	// PolledBy is the instance an interactive session's driver last polled: where a request
	// that must reach the driver at once (a completion) is forwarded.
	PolledBy string `json:"polledBy,omitempty"`
}

// LastActive is when the session's user was last active (its creation at the latest).
func (s *Session) LastActive() time.Time { return latest(s.CreatedAt, s.ActiveAt) }

// LastHeartbeat is when a client last named the session (its creation at the latest).
func (s *Session) LastHeartbeat() time.Time { return latest(s.CreatedAt, s.HeartbeatAt) }

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Deleted reports whether the session was deleted by its user; it is no longer listed.
func (s *Session) Deleted() bool { return !s.DeletedAt.IsZero() }

// Visible reports whether the session is listed and found by id or name.
func (s *Session) Visible() bool { return s.DeletedAt.IsZero() && !s.Hidden }

// IdempotencyKey makes a create idempotent: within one scope, a key maps to one session.
type IdempotencyKey struct {
	Scope string // whose key: the session kind and the user
	Key   string // the client's requestId, canonical
}

// CreateParams describes a new session. The backend allocates the id, unless ReservedID
// names an id reserved with ReserveID.
type CreateParams struct {
	Kind      Kind
	Name      string
	Owner     string
	ProxyUser string
	State     State
	// Tag is the application tag; "{id}" in it is replaced by the allocated id.
	Tag        string
	Supervisor string
	SecretHash string
	Request    json.RawMessage
	// Fingerprint identifies the request; a replay must carry the same one.
	Fingerprint string
	// Key, when set, makes the create idempotent: if a session was created under the same
	// key, CreateSession returns it with Replayed set (or ErrKeyMismatch when its fingerprint
	// differs) and creates nothing. Key and session are written in one transaction.
	Key *IdempotencyKey
	// ReservedID, when set, creates the session under that reserved id. PutKey must be the
	// reservation's (else ErrPutKeyMismatch); a reservation made before ReservedAfter has
	// expired (ErrNotFound). A second create under the same id is a replay, as with Key.
	ReservedID    *int64
	PutKey        string
	ReservedAfter time.Time
	Now           time.Time
}

// Created is the outcome of CreateSession.
type Created struct {
	Session *Session
	// Replayed is true when the session existed already under the same key or reserved id.
	Replayed bool
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
	// SecretHash replaces an interactive session's driver secret (a relaunch mints a new one).
	SecretHash *string
	// Active and Heartbeat set ActiveAt and HeartbeatAt to Now.
	Active    bool
	Heartbeat bool
	PolledBy  *string
	Now       time.Time
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

// LeaseParams renews the lease of one server instance.
type LeaseParams struct {
	InstanceID string
	// Addr is where the instance serves, for its peers.
	Addr string
	// Volume identifies where the instance keeps its applications' directories. Only an
	// instance that sees the same volume can tell whether a local application of another runs,
	// so only such an instance may adopt its sessions.
	Volume     string
	LeaseUntil time.Time
}

// Instance is a server instance as its lease records it.
type Instance struct {
	ID         string
	Addr       string
	Volume     string
	LeaseUntil time.Time
}

// AdoptParams takes over the unfinished sessions of instances whose lease expired.
type AdoptParams struct {
	Kind       Kind
	InstanceID string
	// Volume is the adopter's (see LeaseParams): sessions of an instance on another volume are
	// left for that instance, since adopting them could launch a running application twice.
	Volume string
	Now    time.Time
}

// PurgeKeysParams forgets idempotency keys and id reservations made before a point in time,
// with the sessions kept hidden only for their sake.
type PurgeKeysParams struct {
	Kind         Kind
	KeysBefore   time.Time
	UnusedBefore time.Time // reservations never used expire sooner
	Limit        int
}

// StatementState is an interactive statement's state, as Livy spells it.
type StatementState string

const (
	StatementWaiting    StatementState = "waiting"
	StatementRunning    StatementState = "running"
	StatementAvailable  StatementState = "available"
	StatementCancelling StatementState = "cancelling"
	StatementCancelled  StatementState = "cancelled"
)

// Statement is one piece of code sent to an interactive session, and what became of it.
type Statement struct {
	SessionID int64          `json:"sessionId"`
	ID        int64          `json:"id"`
	Code      string         `json:"code"`
	Kind      string         `json:"kind,omitempty"`
	State     StatementState `json:"state"`
	// Output is Livy's output object once the statement is available; nil before.
	Output   json.RawMessage `json:"output,omitempty"`
	Progress float64         `json:"progress"`
	// Started and Completed are epoch milliseconds, 0 until they happen.
	Started   int64     `json:"started"`
	Completed int64     `json:"completed"`
	CreatedAt time.Time `json:"createdAt"`
}

// AddStatementParams queues a statement on an interactive session.
type AddStatementParams struct {
	SessionID int64
	Code      string
	Kind      string
	Now       time.Time
}

// ListStatementsParams selects a page of a session's statements: at most Size of them after
// skipping From, in id order or, with Desc, newest first.
type ListStatementsParams struct {
	SessionID  int64
	From, Size int
	Desc       bool
}

// StatementPage is a page of statements and the session's number of statements.
type StatementPage struct {
	Total      int
	Statements []*Statement
}

// IDs returns the statement ids of the page p selects among total statements numbered 0 to
// total-1 (statement ids are dense: none is ever removed alone), lowest first: [lo, hi].
// Empty when hi < lo.
func (p *ListStatementsParams) IDs(total int64) (lo, hi int64) {
	from := min(max(int64(p.From), 0), total)
	size := min(total-from, max(int64(p.Size), 0))
	if p.Desc {
		return total - from - size, total - from - 1
	}
	return from, from + size - 1
}

// UpdateStatementParams changes a statement; nil fields are left as they are.
type UpdateStatementParams struct {
	SessionID int64
	ID        int64
	// IfStates makes the update conditional on the current state (ErrStateConflict).
	IfStates  []StatementState
	State     *StatementState
	Output    json.RawMessage
	Progress  *float64
	Started   *int64
	Completed *int64
	// Settle makes the statement's session follow its unfinished statements in the same
	// transaction (Session.Settle), active at Now.
	Settle bool
	Now    time.Time
}

// Unfinished reports whether a statement in state s still waits, runs or is being cancelled.
func (s StatementState) Unfinished() bool {
	return s == StatementWaiting || s == StatementRunning || s == StatementCancelling
}

// Settle makes an interactive session follow its unfinished statements' states (settled),
// active at now.
func (s *Session) Settle(unfinished []StatementState, now time.Time) {
	p := &UpdateParams{Active: true, Now: now}
	if next, ok := settled(s.State, unfinished); ok {
		p.State = &next
	}
	s.Apply(p)
}

// settled is the state an interactive session takes from its statements' states, as Livy's:
// busy while one runs or is being cancelled, idle once none waits or runs; a session in
// another state than idle or busy (starting, ended) keeps it. ok is false when nothing
// changes.
func settled(cur State, statements []StatementState) (next State, ok bool) {
	if cur != StateIdle && cur != StateBusy {
		return cur, false
	}
	waiting := false
	for _, st := range statements {
		switch st {
		case StatementRunning, StatementCancelling:
			return StateBusy, cur != StateBusy
		case StatementWaiting:
			waiting = true
		}
	}
	if waiting {
		return cur, false
	}
	return StateIdle, cur != StateIdle
}

// Update applies p to the session when its state is one of p.IfStates (or p has none), and
// returns ErrStateConflict otherwise: the conditional update every backend offers.
func (s *Session) Update(p *UpdateParams) error {
	if len(p.IfStates) > 0 && !slices.Contains(p.IfStates, s.State) {
		return fmt.Errorf("%w: session %d is %s", ErrStateConflict, s.ID, s.State)
	}
	s.Apply(p)
	return nil
}

// Update applies p to the statement when its state is one of p.IfStates (or p has none), and
// returns ErrStateConflict otherwise.
func (st *Statement) Update(p *UpdateStatementParams) error {
	if len(p.IfStates) > 0 && !slices.Contains(p.IfStates, st.State) {
		return fmt.Errorf("%w: statement %d is %s", ErrStateConflict, st.ID, st.State)
	}
	st.Apply(p)
	return nil
}

// Apply makes an update's changes to the statement.
func (st *Statement) Apply(p *UpdateStatementParams) {
	if p.State != nil {
		st.State = *p.State
	}
	if p.Output != nil {
		st.Output = append(json.RawMessage(nil), p.Output...)
	}
	if p.Progress != nil {
		st.Progress = *p.Progress
	}
	if p.Started != nil {
		st.Started = *p.Started
	}
	if p.Completed != nil {
		st.Completed = *p.Completed
	}
}

// PurgeLimit is the work of one purge call: limit, or 1000 when limit is not positive.
func PurgeLimit(limit int) int {
	if limit <= 0 {
		return 1000
	}
	return limit
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
	// With an idempotency key or a reserved id, see CreateParams.
	CreateSession(ctx context.Context, p *CreateParams) (*Created, error)
	// FindReplay returns the session an earlier create made under p.Key or p.ReservedID
	// (ErrKeyMismatch when p.Fingerprint differs, ErrPutKeyMismatch for a wrong putKey), or
	// ErrNotFound when there is none. It creates nothing: it lets a replay skip the work of a
	// create, while CreateSession alone decides, atomically, what is created.
	FindReplay(ctx context.Context, p *CreateParams) (*Session, error)
	// AddStatement stores a new statement of a visible interactive session, in state waiting,
	// with the session's next statement id (from 0); an unknown session gives ErrNotFound.
	AddStatement(ctx context.Context, p *AddStatementParams) (*Statement, error)
	// GetStatement returns one statement, or ErrNotFound.
	GetStatement(ctx context.Context, sessionID, id int64) (*Statement, error)
	// ListStatements returns a page of a session's statements and how many it has; its cost
	// follows the page, not the session's history.
	ListStatements(ctx context.Context, p *ListStatementsParams) (*StatementPage, error)
	// FirstWaitingStatement returns the session's waiting statement of the lowest id, or
	// ErrNotFound; its cost does not grow with the statements that finished.
	FirstWaitingStatement(ctx context.Context, sessionID int64) (*Statement, error)
	// UpdateStatement applies p and returns the statement.
	UpdateStatement(ctx context.Context, p *UpdateStatementParams) (*Statement, error)
	// RenewLease records that an instance is alive until p.LeaseUntil (creating its entry).
	RenewLease(ctx context.Context, p *LeaseParams) error
	// GetInstance returns an instance's last lease, or ErrNotFound.
	GetInstance(ctx context.Context, id string) (*Instance, error)
	// AdoptSessions makes p.InstanceID the supervisor of every unfinished session whose
	// supervisor is unknown or let its lease expire before p.Now, on the same volume, and
	// returns those sessions. Each session is adopted by one instance.
	AdoptSessions(ctx context.Context, p *AdoptParams) ([]*Session, error)
	// ReserveID takes the next id of the kind for a later create with ReservedID, guarded by
	// putKey. A reserved id is not a session: it is neither listed nor found.
	ReserveID(ctx context.Context, kind Kind, putKey string, now time.Time) (int64, error)
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
	// ErrUnavailable means the store could not be reached or is closed; the caller may retry.
	ErrUnavailable = errors.New("session store unavailable")
)

// record is the stored form of a session: the session plus the layout version that wrote it.
type record struct {
	V int `json:"v"`
	*Session
}

// EncodeRecord is the stored form of a session, shared by the backends.
func EncodeRecord(s *Session) ([]byte, error) {
	return json.Marshal(record{V: SchemaVersion, Session: s})
}

// DecodeRecord reads a stored session, refusing records from a newer layout.
func DecodeRecord(b []byte) (*Session, error) {
	r := record{Session: &Session{}}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("corrupt record: %w", err)
	}
	if r.V < 1 || r.V > SchemaVersion {
		return nil, fmt.Errorf("record has schema version %d, this build reads up to %d", r.V, SchemaVersion)
	}
	return r.Session, nil
}

// Apply makes an update's changes to the record; entering a terminal state stamps FinishedAt.
func (s *Session) Apply(p *UpdateParams) {
	wasTerminal := s.State.Terminal()
	if p.State != nil {
		s.State = *p.State
	}
	if p.AppID != nil {
		s.AppID = *p.AppID
	}
	if p.AppInfo != nil {
		s.AppInfo = *p.AppInfo
	}
	if p.Launch != nil {
		l := *p.Launch
		s.Launch = &l
	}
	if p.ExitCode != nil {
		c := *p.ExitCode
		s.ExitCode = &c
	}
	if p.Reason != nil {
		s.Reason = *p.Reason
	}
	if p.SecretHash != nil {
		s.SecretHash = *p.SecretHash
	}
	if p.Active {
		s.ActiveAt = p.Now
	}
	if p.Heartbeat {
		s.HeartbeatAt = p.Now
	}
	if p.PolledBy != nil {
		s.PolledBy = *p.PolledBy
	}
	if s.State.Terminal() && !wasTerminal {
		s.FinishedAt = p.Now
	}
	s.UpdatedAt = p.Now
}

// MarkDeleted records a user's DELETE: a session not yet ended is killed.
func (s *Session) MarkDeleted(now time.Time) {
	if !s.State.Terminal() {
		s.State = StateKilled
		s.FinishedAt = now
	}
	s.DeletedAt = now
	s.UpdatedAt = now
}
