// Package auth owns who a request comes from: the Authenticator seam that each way of
// authenticating implements (none, an htpasswd file, a directory, bearer tokens), the HTTP
// guard that asks it for every request but the drivers' own channel, and the identity the
// guard hands on in the request's context. Deciding what that identity may do is not this
// package's job.
package auth

import (
	"context"
	"errors"
	"net/http"
)

// Identity is who a request comes from.
type Identity struct {
	// User is the authenticated user name; empty for an anonymous request (no authentication).
	User string
	// Groups are the user's groups, where the authenticator learns them (a directory's, a
	// token's claim); nil where it does not.
	Groups []string
}

// Anonymous reports whether nobody was authenticated.
func (id Identity) Anonymous() bool { return id.User == "" }

// Authenticator checks a request's credentials, in one scheme.
type Authenticator interface {
	// Name is the --auth value that selects it.
	Name() string
	// Challenge is the WWW-Authenticate header of a 401 that asks for credentials of this
	// scheme; empty for none.
	Challenge() string
	// Authenticate tells who r comes from. It may add to header what the scheme answers
	// with a success (SPNEGO's token for mutual authentication). Errors: ErrNoCredentials
	// when r carries none of this scheme, ErrBadCredentials when they are wrong (however
	// they are wrong), ErrUnavailable when what checks them does not answer.
	Authenticate(header http.Header, r *http.Request) (Identity, error)
}

var (
	// ErrNoCredentials: the request carries no credentials of the scheme.
	ErrNoCredentials = errors.New("authentication required")
	// ErrBadCredentials: the credentials are wrong. One error for an unknown user, a wrong
	// password, an expired or forged token: a caller learns nothing of which part was wrong.
	ErrBadCredentials = errors.New("authentication failed")
	// ErrUnavailable: the service that checks credentials (a directory, a key set) does
	// not answer; the request may be repeated.
	ErrUnavailable = errors.New("the authentication service is unavailable")
)

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// From returns the identity the guard found for the request of ctx (anonymous when none).
func From(ctx context.Context) Identity {
	id, _ := ctx.Value(identityKey{}).(Identity)
	return id
}

// None authenticates nobody: every request is anonymous (--auth none).
type None struct{}

func (None) Name() string      { return "none" }
func (None) Challenge() string { return "" }
func (None) Authenticate(http.Header, *http.Request) (Identity, error) {
	return Identity{}, nil
}
