package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

// NewSession is the record of a session created with p under id: "{id}" in the tag is
// replaced by the id, and an idempotent create keeps its key.
func NewSession(p *CreateParams, id int64) *Session {
	sess := &Session{
		Kind: p.Kind, ID: id, Name: p.Name, Owner: p.Owner, ProxyUser: p.ProxyUser, State: p.State,
		Tag: strings.ReplaceAll(p.Tag, "{id}", strconv.FormatInt(id, 10)), Supervisor: p.Supervisor, SecretHash: p.SecretHash,
		Request: p.Request, Fingerprint: p.Fingerprint, Reserved: p.ReservedID != nil,
		CreatedAt: p.Now, UpdatedAt: p.Now,
	}
	if p.Key != nil {
		sess.RequestID, sess.RequestScope = p.Key.Key, p.Key.Scope
	}
	return sess
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

// ResubmitWait is how long to wait before launching again an application that was launched
// (Launch) but that nobody can see: within grace of its launch, another host's spark-submit
// may still be on its way to the cluster manager. 0 when it may be launched now.
func (s *Session) ResubmitWait(grace time.Duration, now time.Time) time.Duration {
	if s.Launch == nil || grace <= 0 {
		return 0
	}
	return max(0, grace-now.Sub(s.Launch.LaunchedAt))
}

// Deleted reports whether the session was deleted by its user; it is no longer listed.
func (s *Session) Deleted() bool { return !s.DeletedAt.IsZero() }

// Visible reports whether the session is listed and found by id or name.
func (s *Session) Visible() bool { return s.DeletedAt.IsZero() && !s.Hidden }

// Update applies p to the session when its state is one of p.IfStates (or p has none), and
// returns ErrStateConflict otherwise: the conditional update every backend offers.
func (s *Session) Update(p *UpdateParams) error {
	if len(p.IfStates) > 0 && !slices.Contains(p.IfStates, s.State) {
		return fmt.Errorf("%w: session %d is %s", ErrStateConflict, s.ID, s.State)
	}
	s.Apply(p)
	return nil
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

// SchemaVersion is the version of the record layout this build writes. A backend refuses to
// decode records from a newer version rather than silently dropping fields.
const SchemaVersion = 1

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
