// Package authtest is the conformance suite every auth.Authenticator passes: what a client
// relies on whatever the scheme — no credentials asks for them, good ones name the user,
// every kind of wrong one is one indistinct failure, another scheme's header is no
// credentials, and the guard in front limits failed logins per source address.
package authtest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/errkind"
)

// Subject is an authenticator under test, with credentials for it.
type Subject struct {
	Auth auth.Authenticator
	// User is whom Good's credentials authenticate.
	User string
	// Good adds valid credentials of User to a request.
	Good func(r *http.Request)
	// Bad are the ways credentials can be wrong (unknown user, wrong password, expired
	// token …), each adding such credentials to a request.
	Bad map[string]func(r *http.Request)
	// Foreign adds credentials of another scheme, which this one does not read.
	Foreign func(r *http.Request)
}

func request(source string, with func(*http.Request)) *http.Request {
	r := httptest.NewRequest("GET", "/batches", nil)
	r.RemoteAddr = source + ":40000"
	if with != nil {
		with(r)
	}
	return r
}

// Run runs the suite on s.
func Run(t *testing.T, s Subject) {
	a := s.Auth
	t.Run("no credentials ask for them", func(t *testing.T) {
		if _, err := a.Authenticate(http.Header{}, request("192.0.2.1", nil)); !errors.Is(err, auth.ErrNoCredentials) {
			t.Errorf("err = %v, want ErrNoCredentials", err)
		}
		if a.Challenge() == "" {
			t.Error("no challenge for a 401's WWW-Authenticate")
		}
	})
	t.Run("good credentials name the user, every time", func(t *testing.T) {
		for range 3 { // the first check and the remembered ones
			id, err := a.Authenticate(http.Header{}, request("192.0.2.1", s.Good))
			if err != nil || id.User != s.User {
				t.Fatalf("= %+v, %v; want user %q", id, err, s.User)
			}
		}
	})
	t.Run("good credentials at once from many clients", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if id, err := a.Authenticate(http.Header{}, request("192.0.2.1", s.Good)); err != nil || id.User != s.User {
					t.Errorf("= %+v, %v; want user %q", id, err, s.User)
				}
			})
		}
		wg.Wait()
	})
	t.Run("every wrong credential is a failure", func(t *testing.T) {
		if len(s.Bad) == 0 {
			t.Fatal("the subject lists no wrong credentials")
		}
		for name, bad := range s.Bad {
			if id, err := a.Authenticate(http.Header{}, request("192.0.2.1", bad)); !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("%s: = %+v, %v; want ErrBadCredentials", name, id, err)
			}
		}
	})
	t.Run("another scheme's credentials are none of this one", func(t *testing.T) {
		if s.Foreign == nil {
			t.Skip("the scheme reads every Authorization header")
		}
		if _, err := a.Authenticate(http.Header{}, request("192.0.2.1", s.Foreign)); !errors.Is(err, auth.ErrNoCredentials) {
			t.Errorf("err = %v, want ErrNoCredentials", err)
		}
	})
	t.Run("the guard", func(t *testing.T) { runGuard(t, s) })
}

// runGuard checks what the guard makes of the authenticator's answers.
func runGuard(t *testing.T, s Subject) {
	g := auth.NewGuard(s.Auth, nil, slog.New(slog.DiscardHandler))
	check := func(source string, with func(*http.Request)) (http.Header, auth.Identity, error) {
		h := http.Header{}
		id, err := g.Check(h, request(source, with))
		return h, id, err
	}
	h, _, err := check("198.51.100.1", nil)
	if errkind.Of(err) != errkind.Unauthenticated || h.Get("WWW-Authenticate") != s.Auth.Challenge() {
		t.Errorf("no credentials: %v (kind %d), WWW-Authenticate %q; want 401 with the challenge", err, errkind.Of(err), h.Get("WWW-Authenticate"))
	}
	messages := map[string]bool{}
	n := 0
	for _, bad := range s.Bad {
		n++
		_, _, err := check(fmt.Sprintf("203.0.113.%d", n), bad) // one address each: no limit reached
		if errkind.Of(err) != errkind.Unauthenticated {
			t.Errorf("bad credentials: %v, want 401", err)
		}
		messages[err.Error()] = true
	}
	if len(messages) != 1 {
		t.Errorf("wrong credentials are told apart by their messages: %v", messages)
	}
	for range auth.FailureBurst {
		check("198.51.100.3", firstBad(s))
	}
	if h, _, err := check("198.51.100.3", s.Good); errkind.Of(err) != errkind.TooManyRequests || h.Get("Retry-After") == "" {
		t.Errorf("after %d failures, good credentials from that address: %v, Retry-After %q; want 429 with Retry-After", auth.FailureBurst, err, h.Get("Retry-After"))
	}
	if _, id, err := check("198.51.100.4", s.Good); err != nil || id.User != s.User {
		t.Errorf("another address: %+v, %v; want it served", id, err)
	}
}

func firstBad(s Subject) func(*http.Request) {
	for _, bad := range s.Bad {
		return bad
	}
	return nil
}
