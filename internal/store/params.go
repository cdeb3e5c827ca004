package store

import (
	"encoding/json"
	"time"
)

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
	// MaxActive, when positive, bounds the Owner's sessions of every kind that are not in a
	// terminal state: a create beyond it gives ErrLimit (a replay is still answered).
	MaxActive int
	Now       time.Time
}

// ReserveParams describes a reservation: an id of Kind kept for a later create by Owner with
// PutKey.
type ReserveParams struct {
	Kind   Kind
	Owner  string
	PutKey string
	// MaxUnused, when positive, bounds the Owner's reservations of the kind that are neither
	// used nor expired (made at or after UnusedAfter): one more gives ErrLimit.
	MaxUnused   int
	UnusedAfter time.Time
	Now         time.Time
}

// CheckReplay reports whether sess, found under p's key or reserved id, answers p: a replay
// must carry the fingerprint of the create that made the session (else ErrKeyMismatch).
func (p *CreateParams) CheckReplay(sess *Session) error {
	if sess.Fingerprint != p.Fingerprint {
		return ErrKeyMismatch
	}
	return nil
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

// AppSeen is the update that records what the cluster manager tells of a session's
// application: its id and links.
func AppSeen(kind Kind, id int64, appID string, info AppInfo, now time.Time) *UpdateParams {
	return &UpdateParams{Kind: kind, ID: id, AppID: &appID, AppInfo: &info, Now: now}
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

// PurgeParams removes sessions that finished, or were deleted, before a point in time.
type PurgeParams struct {
	Kind   Kind
	Before time.Time
	// Limit bounds the work of one call so that a large purge does not hold the store.
	Limit int
}

// PurgeKeysParams forgets idempotency keys and id reservations made before a point in time,
// with the sessions kept hidden only for their sake.
type PurgeKeysParams struct {
	Kind         Kind
	KeysBefore   time.Time
	UnusedBefore time.Time // reservations never used expire sooner
	Limit        int
}

// PurgeLimit is the work of one purge call: limit, or 1000 when limit is not positive.
func PurgeLimit(limit int) int {
	if limit <= 0 {
		return 1000
	}
	return limit
}

// AddStatementParams queues a statement on an interactive session.
type AddStatementParams struct {
	SessionID int64
	Code      string
	Kind      string
	// Key, when set, makes the add idempotent within the session: Scope is the user who sends
	// the statement, Key the client's requestId. If the session has a statement under the same
	// key, AddStatement returns it with Replayed set (or ErrKeyMismatch when its code or kind
	// differs) and adds nothing; key and statement are written in one transaction, and live
	// as long as the statement.
	Key *IdempotencyKey
	// ReplayOnly answers only a replay under Key, and adds nothing: a statement not added yet
	// gives ErrStateConflict (the session takes no more statements).
	ReplayOnly bool
	// MaxStatements, when positive, is the most statements the session may have: one more
	// gives ErrLimit (a replay is still answered).
	MaxStatements int
	Now           time.Time
}

// ListStatementsParams selects a page of a session's statements: at most Size of them after
// skipping From, in id order or, with Desc, newest first.
type ListStatementsParams struct {
	SessionID  int64
	From, Size int
	Desc       bool
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

// StatementPage is a page of statements and the session's number of statements.
type StatementPage struct {
	Total      int
	Statements []*Statement
}

// UpdateStatementParams changes a statement; nil fields are left as they are.
type UpdateStatementParams struct {
	SessionID int64
	ID        int64
	// IfStates makes the update conditional on the current state (ErrStateConflict).
	IfStates []StatementState
	// Transition, when set, decides the change from the current statement (Complete, Cancel).
	Transition Transition
	State      *StatementState
	Output     json.RawMessage
	Progress   *float64
	Started    *int64
	Completed  *int64
	// Settle makes the statement's session follow its unfinished statements in the same
	// transaction (Session.Settle), active at Now.
	Settle bool
	Now    time.Time
}
