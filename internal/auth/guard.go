package auth

import (
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

// Failed logins from one source address are limited to a burst of FailureBurst, then one per
// FailureInterval: enough for a user who mistypes, far too few to guess a password.
const (
	FailureBurst    = 10
	FailureInterval = 6 * time.Second
	// maxSources bounds the addresses whose failures are remembered.
	maxSources = 1 << 16
)

// Guard authenticates requests with one Authenticator, limiting failed logins per source
// address.
type Guard struct {
	auth     Authenticator
	log      *slog.Logger
	outcome  func(outcome string) // counts attempts: ok, no_credentials, bad_credentials, limited, unavailable
	mu       sync.Mutex
	failures map[string]*rate.Limiter // by source address
}

// NewGuard returns the guard of a; outcome, when set, counts each attempt's outcome.
func NewGuard(a Authenticator, outcome func(string), log *slog.Logger) *Guard {
	if outcome == nil {
		outcome = func(string) {}
	}
	return &Guard{auth: a, log: log, outcome: outcome, failures: map[string]*rate.Limiter{}}
}

// Check tells who r comes from, adding to header what the answer needs (the challenge of a
// 401, Retry-After of a 429, SPNEGO's token). Its errors carry their errkind: Unauthenticated,
// TooManyRequests, Unavailable.
func (g *Guard) Check(header http.Header, r *http.Request) (Identity, error) {
	source := sourceOf(r)
	if wait := g.blockedFor(source); wait > 0 {
		g.outcome("limited")
		header.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return Identity{}, errkind.New(errkind.TooManyRequests, "too many failed logins from %s; retry in %s", source, wait.Round(time.Second))
	}
	id, err := g.auth.Authenticate(header, r)
	switch {
	case err == nil:
		g.outcome("ok")
		return id, nil
	case errors.Is(err, ErrNoCredentials):
		g.outcome("no_credentials")
		g.challenge(header)
		return Identity{}, errkind.Wrap(errkind.Unauthenticated, err, "authentication required")
	case errors.Is(err, ErrBadCredentials):
		g.outcome("bad_credentials")
		g.failed(source)
		g.log.Info("failed login", "source", source, "auth", g.auth.Name(), "err", err)
		g.challenge(header)
		return Identity{}, errkind.Wrap(errkind.Unauthenticated, err, "authentication failed")
	default:
		g.outcome("unavailable")
		return Identity{}, errkind.Wrap(errkind.Unavailable, err, "cannot check credentials now: %v", ErrUnavailable)
	}
}

func (g *Guard) challenge(header http.Header) {
	if c := g.auth.Challenge(); c != "" && header.Get("WWW-Authenticate") == "" {
		header.Set("WWW-Authenticate", c)
	}
}

// blockedFor is how long source must wait before its credentials are checked again.
func (g *Guard) blockedFor(source string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.failures[source]
	if !ok || l.Tokens() >= 1 {
		return 0
	}
	return time.Duration((1 - l.Tokens()) * float64(FailureInterval))
}

// failed counts a failed login of source.
func (g *Guard) failed(source string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	l, ok := g.failures[source]
	if !ok {
		if len(g.failures) >= maxSources {
			g.forgetRecovered()
		}
		l = rate.NewLimiter(rate.Every(FailureInterval), FailureBurst)
		g.failures[source] = l
	}
	l.Allow()
}

// forgetRecovered drops the sources whose limiter is full again (no failure for a burst's
// worth of intervals), or every source when none is: memory stays bounded under a flood of
// addresses. g.mu held.
func (g *Guard) forgetRecovered() {
	for source, l := range g.failures {
		if l.Tokens() >= FailureBurst {
			delete(g.failures, source)
		}
	}
	if len(g.failures) >= maxSources {
		clear(g.failures)
	}
}

// sourceOf is the address a request comes from: the peer's IP (a forwarding header is not
// trusted: anyone can write one).
func sourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
