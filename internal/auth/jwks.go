package auth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// The key set is fetched again after jwksMaxAge, and when a token names a key it lacks (the
// issuer rotated its keys) — such a fetch at most once per jwksMinInterval, so that tokens
// naming made-up keys cannot make this server hammer the issuer.
const (
	jwksMaxAge      = 15 * time.Minute
	jwksMinInterval = 10 * time.Second
	maxJWKSBytes    = 1 << 20
)

// keySet is an issuer's JWKS, fetched when needed; the goroutine that needs it fetches it, and
// others wait for that fetch.
type keySet struct {
	url     *url.URL
	client  *http.Client
	fetchMu sync.Mutex // held by the fetch under way
	mu      sync.Mutex
	keys    map[string]jose.JSONWebKey
	ok      time.Time // of the last successful fetch
	failed  time.Time // of the last failed fetch
	missed  time.Time // of the last fetch for a key the set lacked
}

func newKeySet(raw string, client *http.Client) (*keySet, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "file") || (u.Scheme != "file" && u.Host == "") {
		return nil, fmt.Errorf("jwks must be an https:// (or http://, file://) URL, not %q", raw)
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &keySet{url: u, client: client}, nil
}

// key returns the key of id (the token's kid; empty when the set has one key only).
func (s *keySet) key(ctx context.Context, id string) (jose.JSONWebKey, error) {
	if k, found, fresh := s.lookup(id); found && fresh {
		return k, nil
	}
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	k, found, fresh := s.lookup(id)
	if found && fresh {
		return k, nil // fetched while this one waited
	}
	s.mu.Lock()
	now := time.Now()
	due := !fresh && now.Sub(s.failed) >= time.Second // a failing issuer is asked once a second
	if !found && !due && now.Sub(s.missed) >= jwksMinInterval {
		due, s.missed = true, now
	}
	s.mu.Unlock()
	if due {
		if err := s.fetch(ctx); err != nil {
			if found {
				return k, nil // a key known before stays good while the issuer does not answer
			}
			return jose.JSONWebKey{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		k, found, _ = s.lookup(id)
	}
	if s.failing() && !found {
		return jose.JSONWebKey{}, fmt.Errorf("%w: the issuer's key set cannot be fetched", ErrUnavailable)
	}
	if !found {
		return jose.JSONWebKey{}, fmt.Errorf("%w: no key %q in the issuer's key set", ErrBadCredentials, id)
	}
	return k, nil
}

// failing reports whether the last fetch failed: a key the set lacks may be one it gained.
func (s *keySet) failing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed.After(s.ok)
}

// lookup finds id among the keys held; fresh is false when they are due for a fetch.
func (s *keySet) lookup(id string) (k jose.JSONWebKey, found, fresh bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, found = s.keys[id]
	if !found && id == "" && len(s.keys) == 1 {
		for _, only := range s.keys {
			k, found = only, true
		}
	}
	return k, found, time.Since(s.ok) < jwksMaxAge
}

func (s *keySet) fetch(ctx context.Context) error {
	b, err := s.read(ctx)
	var keys map[string]jose.JSONWebKey
	if err == nil {
		if keys, err = parseJWKS(b); err != nil {
			err = fmt.Errorf("%s: %w", s.url.Redacted(), err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failed = time.Now()
		return err
	}
	s.keys, s.ok = keys, time.Now()
	return nil
}

func (s *keySet) read(ctx context.Context) ([]byte, error) {
	if s.url.Scheme == "file" {
		return os.ReadFile(s.url.Path)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the key set: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the key set %s: %s", s.url.Redacted(), resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
}
