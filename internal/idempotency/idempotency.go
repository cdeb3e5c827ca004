// Package idempotency holds what batches and interactive sessions share of LIVY-782's
// idempotent creates: how a client's requestId or reserved id becomes store parameters (a
// scoped key, a request fingerprint, a reservation check), and how the store's refusals
// become the client's errors.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/store"
)

// Bounds are what one owner may hold of the store, and how long a reservation lasts.
type Bounds struct {
	// ReservationTTL is how long a reserved id waits for its PUT (default 24 h).
	ReservationTTL time.Duration
	// MaxActive bounds an owner's unfinished batches and sessions together (0: no bound).
	MaxActive int
	// MaxReservations bounds an owner's unused reserved ids of one kind (0: no bound).
	MaxReservations int
}

// WithDefaults fills what b leaves unset.
func (b Bounds) WithDefaults() Bounds {
	if b.ReservationTTL <= 0 {
		b.ReservationTTL = 24 * time.Hour
	}
	return b
}

// Options make a create idempotent, in one of LIVY-782's two ways.
type Options struct {
	// RequestID is the client's requestId (PUT /{type}): a repeat returns the same session.
	RequestID string
	// ReservedID and PutKey create under an id from Reserve (PUT /{type}/{id}).
	ReservedID *int64
	PutKey     string
	// Owner is the authenticated user, who scopes request ids.
	Owner string
}

// scopedPutKey is the putKey the store keeps for a reservation: the client's, bound to the
// reservation's owner as a requestId is scoped to its owner, so that another user's PUT with
// the right putKey is refused as a wrong one (403). An anonymous owner's is the client's.
func scopedPutKey(owner, putKey string) string {
	if owner == "" || putKey == "" {
		return putKey
	}
	return fmt.Sprintf("%d:%s:%s", len(owner), owner, putKey) // length first: unambiguous, and text PostgreSQL keeps
}

// Keyed reports whether a repeat of this create may be a replay.
func (o Options) Keyed() bool { return o.RequestID != "" || o.ReservedID != nil }

// Apply fills p's idempotency fields: the fingerprint of the canonical request, the key scoped
// to (kind, owner), and the reservation with its expiry.
func (o Options) Apply(p *store.CreateParams, canonical []byte, b Bounds) {
	sum := sha256.Sum256(canonical)
	p.Request, p.Fingerprint, p.Owner, p.MaxActive = canonical, hex.EncodeToString(sum[:]), o.Owner, b.MaxActive
	p.ReservedID, p.PutKey, p.ReservedAfter = o.ReservedID, scopedPutKey(o.Owner, o.PutKey), p.Now.Add(-b.ReservationTTL)
	if o.RequestID != "" {
		p.Key = &store.IdempotencyKey{Scope: string(p.Kind) + "/" + o.Owner, Key: o.RequestID}
	}
}

// Error says in the client's terms why a create of kind was refused.
func (o Options) Error(err error, kind store.Kind, name string, b Bounds) error {
	noun, route := nouns(kind)
	switch {
	case errors.Is(err, store.ErrLimit):
		return errkind.Wrap(errkind.TooManyRequests, err,
			"%s already %s %d unfinished batches and sessions, the most one user may have (--max-active-per-user); wait for one to finish, or delete one",
			who(o.Owner), has(o.Owner), b.MaxActive)
	case errors.Is(err, store.ErrNameTaken):
		return errkind.Wrap(errkind.Invalid, err, "Duplicate session name: %s", name)
	case errors.Is(err, store.ErrKeyMismatch) && o.RequestID != "":
		return errkind.Wrap(errkind.Unprocessable, err,
			"requestId %s was already used for a different request; a retry must repeat the first request exactly, and a new request needs a new requestId", o.RequestID)
	case errors.Is(err, store.ErrKeyMismatch):
		return errkind.Wrap(errkind.Unprocessable, err,
			"%s %d was already created with a different request; a retry of PUT %s/%d must repeat the first request exactly", noun, *o.ReservedID, route, *o.ReservedID)
	case errors.Is(err, store.ErrPutKeyMismatch):
		return errkind.Wrap(errkind.Forbidden, err, "putKey does not match the one issued to you for %s id %d", noun, *o.ReservedID)
	case errors.Is(err, store.ErrNotFound) && o.ReservedID != nil:
		return errkind.Wrap(errkind.NotFound, err,
			"%s id %d is not reserved: reserve one with POST %s/id (a reservation expires after %s unused)", noun, *o.ReservedID, route, b.ReservationTTL)
	}
	return fmt.Errorf("create %s: %w", noun, err)
}

// Reserve reserves the next id of kind for owner's later PUT /{type}/{id} with the returned
// putKey, within owner's bound of unused reservations.
func Reserve(ctx context.Context, st store.Store, kind store.Kind, owner string, now time.Time, b Bounds) (int64, string, error) {
	putKey := uuid.NewString()
	id, err := st.ReserveID(ctx, &store.ReserveParams{Kind: kind, Owner: owner, PutKey: scopedPutKey(owner, putKey),
		MaxUnused: b.MaxReservations, UnusedAfter: now.Add(-b.ReservationTTL), Now: now})
	if errors.Is(err, store.ErrLimit) {
		noun, route := nouns(kind)
		return 0, "", errkind.Wrap(errkind.TooManyRequests, err,
			"%s already %s %d unused reserved %s ids, the most one user may hold (--max-reservations-per-user); PUT %s/{id} to one, or wait for them to expire (%s after their reservation)",
			who(owner), has(owner), b.MaxReservations, noun, route, b.ReservationTTL)
	}
	if err != nil {
		return 0, "", fmt.Errorf("reserve %s id: %w", kind, err)
	}
	return id, putKey, nil
}

func nouns(kind store.Kind) (noun, route string) {
	if kind == store.KindInteractive {
		return "session", "/sessions"
	}
	return "batch", "/batches"
}

// who names an owner in a message: the user, or the anonymous clients, who share one bound.
func who(owner string) string {
	if owner == "" {
		return "anonymous clients (without --auth, all one user)"
	}
	return "user " + owner
}

func has(owner string) string {
	if owner == "" {
		return "have"
	}
	return "has"
}

// Create is the create flow that batches and sessions share. p carries the record to create
// (kind, state, tag, owner's request; Apply fills the idempotency fields from canonical). A
// keyed repeat is answered from the store (Replayed) without being checked or created again;
// any other create is checked first (check: validation and the submission policy, whose
// errors are the client's), then created in one store transaction, which alone decides what
// exists — a concurrent repeat may still come back Replayed from it.
func Create(ctx context.Context, st store.Store, p *store.CreateParams, canonical []byte, o Options,
	b Bounds, check func() error) (*store.Created, error) {
	o.Apply(p, canonical, b)
	if o.Keyed() {
		sess, err := st.FindReplay(ctx, p)
		if err == nil {
			return &store.Created{Session: sess, Replayed: true}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, o.Error(err, p.Kind, "", b)
		}
	}
	if err := check(); err != nil {
		return nil, err
	}
	created, err := st.CreateSession(ctx, p)
	if err != nil {
		return nil, o.Error(err, p.Kind, p.Name, b)
	}
	return created, nil
}
