package interactive

import (
	"sync"
	"time"
)

// mailbox is this instance's in-memory side of the drivers' channel, under a lock of its own:
// a wake-up per session whose driver waits for work, the calls waiting for their driver's
// answer, and the statement each driver took from this instance. Everything else of the
// channel (statements and their states) lives in the store.
type mailbox struct {
	mu       sync.Mutex
	arrivals map[int64]chan struct{} // closed and replaced when work for the driver arrives
	calls    map[string]*pendingCall // by call id
	handed   map[int64]handout       // by session
	callSeq  uint64
}

type pendingCall struct {
	seq       uint64 // arrival order
	sessionID int64
	call      *Call
	delivered bool
	answer    chan CallAnswer
}

type handout struct {
	statement int64
	at        time.Time
}

func newMailbox() *mailbox {
	return &mailbox{arrivals: map[int64]chan struct{}{}, calls: map[string]*pendingCall{}, handed: map[int64]handout{}}
}

// arrival returns a channel closed when session id next gets work (or ends).
func (b *mailbox) arrival(id int64) chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch, ok := b.arrivals[id]
	if !ok {
		ch = make(chan struct{})
		b.arrivals[id] = ch
	}
	return ch
}

// notify wakes the driver of session id, if it waits.
func (b *mailbox) notify(id int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ch, ok := b.arrivals[id]; ok {
		close(ch)
		delete(b.arrivals, id)
	}
}

// handOut remembers that the driver of session id took statement sid at at.
func (b *mailbox) handOut(id, sid int64, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handed[id] = handout{statement: sid, at: at}
}

// handedOut reports whether this instance handed statement sid to its driver, and when.
func (b *mailbox) handedOut(id, sid int64) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h, ok := b.handed[id]
	return h.at, ok && h.statement == sid
}

// answered forgets the hand-out of statement sid once its result arrived.
func (b *mailbox) answered(id, sid int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if h, ok := b.handed[id]; ok && h.statement == sid {
		delete(b.handed, id)
	}
}

// forget drops what the mailbox holds of session id, once its driver ended: a statement handed
// out when it died is answered by nobody.
func (b *mailbox) forget(id int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.handed, id)
}

// post queues call for the driver of session id; the returned pending call receives the
// answer; drop it once nobody waits for the answer any more.
func (b *mailbox) post(id int64, call *Call) *pendingCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.callSeq++
	p := &pendingCall{seq: b.callSeq, sessionID: id, call: call, answer: make(chan CallAnswer, 1)}
	b.calls[call.ID] = p
	return p
}

func (b *mailbox) drop(callID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.calls, callID)
}

// deliver hands out session id's oldest undelivered call, if any.
func (b *mailbox) deliver(id int64) *Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	var first *pendingCall
	for _, p := range b.calls {
		if p.sessionID == id && !p.delivered && (first == nil || p.seq < first.seq) {
			first = p
		}
	}
	if first == nil {
		return nil
	}
	first.delivered = true
	return first.call
}

// answer delivers a driver's answer to call callID of session id; false when no such call
// waits (an answer nobody waits for any more is dropped).
func (b *mailbox) answer(id int64, callID string, a CallAnswer) bool {
	b.mu.Lock()
	p, ok := b.calls[callID]
	b.mu.Unlock()
	if !ok || p.sessionID != id {
		return false
	}
	select {
	case p.answer <- a:
	default:
	}
	return true
}
