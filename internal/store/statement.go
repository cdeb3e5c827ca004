package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// StatementState is an interactive statement's state, as Livy spells it.
type StatementState string

const (
	StatementWaiting    StatementState = "waiting"
	StatementRunning    StatementState = "running"
	StatementAvailable  StatementState = "available"
	StatementCancelling StatementState = "cancelling"
	StatementCancelled  StatementState = "cancelled"
)

// Unfinished reports whether a statement in state s still waits, runs or is being cancelled.
func (s StatementState) Unfinished() bool {
	return s == StatementWaiting || s == StatementRunning || s == StatementCancelling
}

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
	// RequestKey is the scoped idempotency key the statement was added under (see
	// StatementRequestKey); empty for a statement sent without one.
	RequestKey string `json:"requestKey,omitempty"`
	// Replayed is set by AddStatement, never stored: the statement existed already under the
	// request's key, and nothing was added.
	Replayed bool `json:"-"`
}

// StatementRequestKey is the form a statement's idempotency key is stored in: its scope's
// length first, so that no scope and key run into another pair's.
func StatementRequestKey(k *IdempotencyKey) string {
	if k == nil {
		return ""
	}
	return fmt.Sprintf("%d:%s:%s", len(k.Scope), k.Scope, k.Key)
}

// CheckReplay reports whether st, found under p's key, answers p: a replay must carry the
// code and kind of the statement it repeats (else ErrKeyMismatch). It marks st Replayed.
func (p *AddStatementParams) CheckReplay(st *Statement) error {
	if st.Code != p.Code || st.Kind != p.Kind {
		return fmt.Errorf("statement %d of session %d: %w", st.ID, st.SessionID, ErrKeyMismatch)
	}
	st.Replayed = true
	return nil
}

// NewStatement is the record of a statement queued with p under id: waiting, created at p.Now.
func NewStatement(p *AddStatementParams, id int64) *Statement {
	return &Statement{SessionID: p.SessionID, ID: id, Code: p.Code, Kind: p.Kind, State: StatementWaiting, CreatedAt: p.Now,
		RequestKey: StatementRequestKey(p.Key)}
}

// Update applies p to the statement when its state is one of p.IfStates (or p has none) and
// p.Transition (if any) accepts it, and returns ErrStateConflict otherwise.
func (st *Statement) Update(p *UpdateStatementParams) error {
	if len(p.IfStates) > 0 && !slices.Contains(p.IfStates, st.State) {
		return fmt.Errorf("%w: statement %d is %s", ErrStateConflict, st.ID, st.State)
	}
	if p.Transition != nil {
		if err := p.Transition(st); err != nil {
			return err
		}
	}
	st.Apply(p)
	return nil
}

// A Transition decides a statement's next state from its current one, inside the store's
// transaction, so that no caller reads, decides and retries: it changes st, or returns
// ErrStateConflict to leave it as it is.
type Transition func(st *Statement) error

// Complete is the transition of a driver's result (at now, epoch milliseconds): a waiting or
// running statement becomes available with output; a cancelling one becomes cancelled and
// keeps the output, as Livy does; a finished one stays. A statement never recorded running
// gets started as its start.
func Complete(output json.RawMessage, started, now int64) Transition {
	return func(st *Statement) error {
		switch st.State {
		case StatementWaiting, StatementRunning:
			st.State = StatementAvailable
		case StatementCancelling:
			st.State = StatementCancelled
		default:
			return fmt.Errorf("%w: statement %d is %s", ErrStateConflict, st.ID, st.State)
		}
		if st.Started == 0 {
			st.Started = started
		}
		st.Output, st.Progress, st.Completed = append(json.RawMessage(nil), output...), 1, now
		return nil
	}
}

// Cancel is the transition of a user's cancel (at now, epoch milliseconds), as Livy cancels:
// a waiting statement no driver took is cancelled at once; a running one, or one its driver
// took already (handedOut), is cancelling until the driver gives up on it; a finished one stays.
func Cancel(handedOut bool, now int64) Transition {
	return func(st *Statement) error {
		switch {
		case st.State == StatementRunning || st.State == StatementWaiting && handedOut:
			st.State = StatementCancelling
		case st.State == StatementWaiting:
			st.State, st.Completed = StatementCancelled, now
		default:
			return fmt.Errorf("%w: statement %d is %s", ErrStateConflict, st.ID, st.State)
		}
		return nil
	}
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
