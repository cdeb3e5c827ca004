package interactive

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/store"
)

// The driver's channel. A driver long-polls Next for messages and posts back results; the
// statements and their states live in the store, so whichever instance the driver polls serves
// it. Calls (completion, adding a resource) are answered at once, beside a running statement,
// and are held in the memory of the instance that received them.

// Message is what a driver's poll receives.
type Message struct {
	// Type is MessageStatement, MessageCancel or MessageCall.
	Type string `json:"type"`
	ID   int64  `json:"id"`
	Code string `json:"code,omitempty"`
	Kind string `json:"kind,omitempty"`
	Call *Call  `json:"call,omitempty"`
}

// Call asks the driver for an immediate answer.
type Call struct {
	ID string `json:"id"`
	// Op is one of the Op constants.
	Op     string `json:"op"`
	Code   string `json:"code,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Cursor int    `json:"cursor,omitempty"`
	URI    string `json:"uri,omitempty"`
	// Fetch says that URI is a file on the gateway's disk, which a driver in the cluster
	// cannot read: it downloads it from RouteFile first.
	Fetch bool `json:"fetch,omitempty"`
}

// CallAnswer is the driver's answer to a call: a result, or the error that prevented it.
type CallAnswer struct {
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

// Poll is what a driver tells of itself when it polls.
type Poll struct {
	// Running is the statement the driver runs, if any: no statement is handed out meanwhile.
	Running *int64
	// CancelSeen says the driver already acts on the running statement's cancel.
	CancelSeen bool
}

// storeRecheck bounds how late a poll notices a statement or cancel stored by another
// instance, whose arrival this instance is not told of.
const storeRecheck = time.Second

// callTimeout bounds how long a call waits for the driver's answer.
const callTimeout = 30 * time.Second

// Authenticate checks a driver's secret for session id and returns the session.
func (m *Manager) Authenticate(ctx context.Context, id int64, secret string) (*store.Session, error) {
	sess, err := m.store.GetSession(ctx, store.KindInteractive, id)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(sess.SecretHash)) != 1 {
		return nil, errkind.New(errkind.Forbidden, "driver secret does not match session %d", id)
	}
	return sess, nil
}

// Ready records that the driver's SparkSession is up: the session is idle, with the id and UI
// its SparkContext tells (a UI link the cluster manager gave already is kept: it is the one
// that works from outside the cluster).
func (m *Manager) Ready(ctx context.Context, sess *store.Session, appID, sparkUI string) error {
	idle := store.StateIdle
	info := sess.AppInfo
	if info.SparkUIURL == "" {
		info.SparkUIURL = sparkUI
	}
	_, err := m.store.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: sess.ID,
		IfStates: []store.State{store.StateStarting, store.StateIdle, store.StateBusy}, State: &idle, AppID: &appID,
		AppInfo: &info, Active: true, Now: m.now()})
	if errors.Is(err, store.ErrStateConflict) {
		return errkind.Wrap(errkind.NotFound, err, "session %d has ended", sess.ID)
	}
	return err
}

// Next answers a driver's poll with its next message: a call, the cancel of the statement it
// runs, or (when it runs none) the next waiting statement, marked running with the session
// busy. It returns nil after the poll wait when there is nothing.
func (m *Manager) Next(ctx context.Context, sess *store.Session, poll Poll) (*Message, error) {
	if sess.PolledBy != m.cfg.InstanceID {
		// Written only when the driver moves to another instance, for CallPeer.
		me := m.cfg.InstanceID
		if _, err := m.store.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: sess.ID, PolledBy: &me, Now: m.now()}); err != nil {
			return nil, err
		}
	}
	deadline := time.NewTimer(m.cfg.PollWait)
	defer deadline.Stop()
	recheck := time.NewTicker(storeRecheck)
	defer recheck.Stop()
	for {
		arrived := m.mailbox.arrival(sess.ID)
		if call := m.mailbox.deliver(sess.ID); call != nil {
			return &Message{Type: MessageCall, Call: call}, nil
		}
		msg, err := m.nextWork(ctx, sess.ID, poll)
		if msg != nil || err != nil {
			return msg, err
		}
		select {
		case <-arrived:
		case <-recheck.C:
		case <-deadline.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-m.pollsEnded:
			return nil, nil
		case <-m.ctx.Done():
			return nil, nil
		}
		if cur, err := m.store.GetSession(ctx, store.KindInteractive, sess.ID); err != nil || cur.State.Terminal() {
			return nil, errkind.New(errkind.NotFound, "session %d has ended", sess.ID)
		}
	}
}

func (m *Manager) nextWork(ctx context.Context, id int64, poll Poll) (*Message, error) {
	if poll.Running != nil {
		st, err := m.store.GetStatement(ctx, id, *poll.Running)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if err == nil && st.State == store.StatementCancelling && !poll.CancelSeen {
			return &Message{Type: MessageCancel, ID: st.ID}, nil
		}
		if err == nil && st.State.Unfinished() {
			return nil, nil // one statement at a time
		}
	}
	// The driver runs nothing. A statement handed out and not answered (running, or
	// cancelling) never reached it: the answer to the poll that took it was lost. It is handed
	// out again (the driver answers one it ran already with the output it kept, never running
	// it twice); one cancelled meanwhile never ran, and is cancelled now.
	st, err := m.store.FirstUnfinishedStatement(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if st.State == store.StatementCancelling {
		return nil, m.cancelUnreceived(ctx, id, st.ID)
	}
	if st.State == store.StatementRunning {
		m.log.Info("handing out again a statement its driver never received", "session", id, "statement", st.ID)
	}
	m.handOut(id, st.ID)
	return &Message{Type: MessageStatement, ID: st.ID, Code: st.Code, Kind: st.Kind}, nil
}

// cancelUnreceived cancels a statement whose driver never received it, and settles the session.
func (m *Manager) cancelUnreceived(ctx context.Context, id, sid int64) error {
	now := m.now()
	cancelled, completed := store.StatementCancelled, now.UnixMilli()
	_, err := m.store.UpdateStatement(ctx, &store.UpdateStatementParams{SessionID: id, ID: sid,
		IfStates: []store.StatementState{store.StatementCancelling}, State: &cancelled, Completed: &completed, Settle: true, Now: now})
	m.mailbox.answered(id, sid)
	if errors.Is(err, store.ErrStateConflict) {
		return nil
	}
	return err
}

// runningMarkDelay is how long a statement handed to its driver may run before the store
// records it running (and its session busy). A short statement completes first and costs one
// write instead of two; the driver says which statement it runs when it polls, and the queue
// is held back until that one is answered, so nothing runs twice meanwhile.
const runningMarkDelay = 50 * time.Millisecond

// handOut remembers that the driver took statement sid, and records it running unless its
// result arrives first.
func (m *Manager) handOut(id, sid int64) {
	at := m.now()
	m.mailbox.handOut(id, sid, at)
	m.life.Go(func() {
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(runningMarkDelay):
		}
		running, started := store.StatementRunning, at.UnixMilli()
		_, err := m.store.UpdateStatement(m.ctx, &store.UpdateStatementParams{SessionID: id, ID: sid,
			IfStates: []store.StatementState{store.StatementWaiting}, State: &running, Started: &started, Settle: true, Now: at})
		if err != nil && !errors.Is(err, store.ErrStateConflict) && !errors.Is(err, context.Canceled) {
			m.log.Warn("record statement running", "session", id, "statement", sid, "err", err)
		}
	})
}

// Result records a statement's output: available, or cancelled when a cancel was asked while
// it ran (its output kept, as Livy does), and settles the session (idle when nothing else
// waits) in the same write.
func (m *Manager) Result(ctx context.Context, sess *store.Session, sid int64, output json.RawMessage) error {
	now := m.now()
	started, handed := m.mailbox.handedOut(sess.ID, sid)
	if !handed {
		// an output binds to a statement handed to the driver: here, or by an instance
		// before it (then the store says it runs); never to one still waiting in the queue
		st, err := m.store.GetStatement(ctx, sess.ID, sid)
		if err != nil {
			return err
		}
		if st.State == store.StatementWaiting {
			return errkind.New(errkind.Conflict, "statement %d of session %d was not handed to its driver", sid, sess.ID)
		}
		started = now
	}
	_, err := m.store.UpdateStatement(ctx, &store.UpdateStatementParams{SessionID: sess.ID, ID: sid,
		Transition: store.Complete(output, started.UnixMilli(), now.UnixMilli()), Settle: true, Now: now})
	m.mailbox.answered(sess.ID, sid)
	m.mailbox.notify(sess.ID)
	if errors.Is(err, store.ErrStateConflict) {
		return nil // cancelled before it ran: the output is dropped
	}
	return err
}

// Progress records how far a running statement's Spark jobs are (0 to 1, as DecodeResult checks).
func (m *Manager) Progress(ctx context.Context, sess *store.Session, sid int64, progress float64) error {
	_, err := m.store.UpdateStatement(ctx, &store.UpdateStatementParams{SessionID: sess.ID, ID: sid,
		IfStates: []store.StatementState{store.StatementRunning, store.StatementCancelling}, Progress: &progress})
	if errors.Is(err, store.ErrStateConflict) {
		return nil
	}
	return err
}

// Cancel cancels a statement as Livy does: a waiting one at once, a running one by asking its
// driver (cancelling, then cancelled when the driver gives up on it); a finished one stays.
func (m *Manager) Cancel(ctx context.Context, id, sid int64) error {
	if _, err := m.Statement(ctx, id, sid); err != nil {
		return err // unknown session or statement: 404
	}
	now := m.now()
	_, handed := m.mailbox.handedOut(id, sid)
	_, err := m.store.UpdateStatement(ctx, &store.UpdateStatementParams{SessionID: id, ID: sid,
		Transition: store.Cancel(handed, now.UnixMilli()), Settle: true, Now: now})
	if errors.Is(err, store.ErrStateConflict) {
		return nil // finished already: it stays as it ended
	}
	if err == nil {
		m.mailbox.notify(id)
	}
	return err
}

// Call asks the session's driver for an immediate answer and waits for it.
func (m *Manager) Call(ctx context.Context, id int64, call *Call) (*CallAnswer, error) {
	sess, err := m.store.GetSession(ctx, store.KindInteractive, id)
	if err != nil {
		return nil, err
	}
	if sess.State.Terminal() {
		return nil, errkind.Invalidf("Session %d is %s", id, sess.State)
	}
	b := make([]byte, 12)
	rand.Read(b)
	call.ID = hex.EncodeToString(b)
	p := m.mailbox.post(id, call)
	defer m.mailbox.drop(call.ID)
	m.mailbox.notify(id)
	m.store.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: id, Active: true, Now: m.now()})
	timeout := time.NewTimer(callTimeout)
	defer timeout.Stop()
	select {
	case a := <-p.answer:
		return &a, nil
	case <-timeout.C:
		return nil, errkind.New(errkind.Unavailable, "the driver of session %d did not answer within %s", id, callTimeout)
	case <-m.pollsEnded:
		return nil, errkind.New(errkind.Unavailable, "the server is shutting down; retry")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// CallPeer returns the address of the live instance the session's driver polls, when that is
// another instance: a call must be forwarded there, since calls wait in memory. A driver that
// has not polled yet (it is starting) is waited for, up to the call timeout, rather than the
// call posted here for a driver that may poll a peer: it would wait here unanswered.
func (m *Manager) CallPeer(ctx context.Context, sess *store.Session) (string, error) {
	if sess.PolledBy == "" && !sess.State.Terminal() {
		var err error
		if sess, err = m.awaitFirstPoll(ctx, sess.ID); err != nil {
			return "", err
		}
	}
	if sess.PolledBy == "" || sess.PolledBy == m.cfg.InstanceID {
		return "", nil
	}
	inst, err := m.store.GetInstance(ctx, sess.PolledBy)
	if err != nil || !inst.LeaseUntil.After(m.now()) || inst.Addr == "" {
		return "", nil // gone: its driver will poll a live instance, maybe this one
	}
	return inst.Addr, nil
}

// firstPollCheck is how often a call for a driver that has not polled yet looks again.
const firstPollCheck = 250 * time.Millisecond

// awaitFirstPoll waits until the driver of session id polled an instance, or the session
// ended, and returns the session then.
func (m *Manager) awaitFirstPoll(ctx context.Context, id int64) (*store.Session, error) {
	deadline := time.NewTimer(callTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(firstPollCheck)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			return nil, errkind.New(errkind.Unavailable, "the driver of session %d has not connected within %s; retry once the session is idle", id, callTimeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		sess, err := m.store.GetSession(ctx, store.KindInteractive, id)
		if err != nil {
			return nil, err
		}
		if sess.PolledBy != "" || sess.State.Terminal() {
			return sess, nil
		}
	}
}

// Answer delivers the driver's answer to a call; an answer nobody waits for any more is dropped.
func (m *Manager) Answer(sess *store.Session, callID string, a CallAnswer) error {
	if !m.mailbox.answer(sess.ID, callID, a) {
		return errkind.New(errkind.NotFound, "no call %q is waiting", callID)
	}
	return nil
}
