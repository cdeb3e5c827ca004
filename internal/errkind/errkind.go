// Package errkind classifies errors by what the caller did wrong (or what went wrong), so
// that the API maps every error to an HTTP status in one place without matching strings.
package errkind

import (
	"errors"
	"fmt"
)

// Kind is a class of error that a client can act on.
type Kind int

const (
	Internal             Kind = iota // a fault of the server
	Invalid                          // the request is malformed or breaks a rule (400)
	NotFound                         // the thing named does not exist (404)
	Forbidden                        // the caller may not do this (403)
	Conflict                         // the thing exists in a state that forbids this (409)
	Unprocessable                    // well-formed but contradicts an earlier request (422)
	TooLarge                         // the request body is over the limit (413)
	Unavailable                      // a dependency is down; retry later (503)
	NotImplemented                   // a part of Livy's API sparkgate does not serve (501)
	Unauthenticated                  // the request carries no valid credentials (401)
	TooManyRequests                  // the caller is over a rate or one of its bounds (429)
	UnsupportedMediaType             // the body is not of the type the route reads (415)
)

// Error carries a message meant for the client and its kind.
type Error struct {
	Kind Kind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with a client-facing message.
func New(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Wrap gives err a kind and a client-facing message, keeping it for errors.Is.
func Wrap(k Kind, err error, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Err: err}
}

// Invalidf is shorthand for New(Invalid, ...): the most common client error.
func Invalidf(format string, args ...any) error { return New(Invalid, format, args...) }

// Of returns the kind of the first *Error in err's chain, or Internal.
func Of(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}
