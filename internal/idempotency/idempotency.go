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
func (o Options) Apply(p *store.CreateParams, canonical []byte, reservationTTL time.Duration) {
	sum := sha256.Sum256(canonical)
	p.Request, p.Fingerprint, p.Owner = canonical, hex.EncodeToString(sum[:]), o.Owner
	p.ReservedID, p.PutKey, p.ReservedAfter = o.ReservedID, scopedPutKey(o.Owner, o.PutKey), p.Now.Add(-reservationTTL)
	if o.RequestID != "" {
		p.Key = &store.IdempotencyKey{Scope: string(p.Kind) + "/" + o.Owner, Key: o.RequestID}
	}
}

// Error says in the client's terms why a create of kind was refused.
func (o Options) Error(err error, kind store.Kind, name string, reservationTTL time.Duration) error {
	noun, route := "batch", "/batches"
	if kind == store.KindInteractive {
		noun, route = "session", "/sessions"
	}
	switch {
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
			"%s id %d is not reserved: reserve one with POST %s/id (a reservation expires after %s unused)", noun, *o.ReservedID, route, reservationTTL)
	}
	return fmt.Errorf("create %s: %w", noun, err)
}

// Reserve reserves the next id of kind for owner's later PUT /{type}/{id} with the returned
// putKey.
func Reserve(ctx context.Context, st store.Store, kind store.Kind, owner string, now time.Time) (int64, string, error) {
	putKey := uuid.NewString()
	id, err := st.ReserveID(ctx, kind, scopedPutKey(owner, putKey), now)
	if err != nil {
		return 0, "", fmt.Errorf("reserve %s id: %w", kind, err)
	}
	return id, putKey, nil
}

// Create is the create flow that batches and sessions share. p carries the record to create
// (kind, state, tag, owner's request; Apply fills the idempotency fields from canonical). A
// keyed repeat is answered from the store (Replayed) without being checked or created again;
// any other create is checked first (check: validation and the submission policy, whose
// errors are the client's), then created in one store transaction, which alone decides what
// exists — a concurrent repeat may still come back Replayed from it.
func Create(ctx context.Context, st store.Store, p *store.CreateParams, canonical []byte, o Options,
	reservationTTL time.Duration, check func() error) (*store.Created, error) {
	o.Apply(p, canonical, reservationTTL)
	if o.Keyed() {
		sess, err := st.FindReplay(ctx, p)
		if err == nil {
			return &store.Created{Session: sess, Replayed: true}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, o.Error(err, p.Kind, "", reservationTTL)
		}
	}
	if err := check(); err != nil {
		return nil, err
	}
	created, err := st.CreateSession(ctx, p)
	if err != nil {
		return nil, o.Error(err, p.Kind, p.Name, reservationTTL)
	}
	return created, nil
}
