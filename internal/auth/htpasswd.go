package auth

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// htpasswdRecheck is how often the htpasswd file is checked for changes: a user removed from
// it is refused within this time (and the cache of verified passwords is dropped with it).
const htpasswdRecheck = time.Second

// Htpasswd authenticates HTTP Basic credentials against an Apache htpasswd file of bcrypt
// hashes (htpasswd -B), re-read when it changes (--auth basic).
type Htpasswd struct {
	path  string
	cache *verified
	mu    sync.Mutex
	users map[string][]byte // user -> bcrypt hash
	decoy []byte            // compared against for an unknown user (see reloadLocked)
	stamp fileStamp         // of the file the users were read from
	next  time.Time         // when to look at the file again
}

// NewHtpasswd reads the htpasswd file at path; ttl is how long a verified password is
// remembered (bcrypt costs tens of milliseconds by design).
func NewHtpasswd(path string, ttl time.Duration) (*Htpasswd, error) {
	h := &Htpasswd{path: path, cache: newVerified(ttl)}
	if err := h.reload(); err != nil {
		return nil, err
	}
	return h, nil
}

func (*Htpasswd) Name() string      { return "basic" }
func (*Htpasswd) Challenge() string { return `Basic realm="sparkgate", charset="UTF-8"` }

func (h *Htpasswd) Authenticate(_ http.Header, r *http.Request) (Identity, error) {
	user, password, ok := r.BasicAuth()
	if !ok {
		return Identity{}, ErrNoCredentials
	}
	hash, decoy := h.hashOf(user) // re-reads a changed file first, which forgets what was verified
	if hash == nil {
		// an unknown user costs a hash too, so that the time taken tells nothing
		bcrypt.CompareHashAndPassword(decoy, []byte(password))
		return Identity{}, fmt.Errorf("%w: user %q", ErrBadCredentials, user)
	}
	return h.cache.check(user, password, func() (Identity, bool, error) {
		if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil {
			return Identity{}, false, fmt.Errorf("%w: user %q", ErrBadCredentials, user)
		}
		return Identity{User: user}, true, nil
	})
}

// hashOf is user's hash, from the file as it is now (re-read when it changed), nil for an
// unknown user; and the decoy hash. A file that became unreadable or wrong keeps the users
// last read.
func (h *Htpasswd) hashOf(user string) (hash, decoy []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now := time.Now(); now.After(h.next) {
		h.next = now.Add(htpasswdRecheck)
		if stamp, err := stampOf(h.path); err == nil && stamp != h.stamp {
			if err := h.reloadLocked(); err == nil {
				h.cache.clear()
			}
		}
	}
	return h.users[user], h.decoy
}

func (h *Htpasswd) reload() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reloadLocked()
}

func (h *Htpasswd) reloadLocked() error {
	stamp, err := stampOf(h.path)
	if err != nil {
		return fmt.Errorf("htpasswd file: %w", err)
	}
	b, err := os.ReadFile(h.path)
	if err != nil {
		return fmt.Errorf("htpasswd file: %w", err)
	}
	users, err := parseHtpasswd(b)
	if err != nil {
		return fmt.Errorf("htpasswd file %s: %w", h.path, err)
	}
	// An unknown user is checked against a hash of the file (and refused whatever the
	// result), so that an unknown user and a wrong password take the same bcrypt time.
	decoy := []byte("$2a$10$" + strings.Repeat(".", 53)) // no password matches it
	for _, hash := range users {
		decoy = hash
		break
	}
	h.users, h.decoy, h.stamp = users, decoy, stamp
	return nil
}

// parseHtpasswd reads lines of user:hash; blank lines and # comments are skipped. Only bcrypt
// hashes are taken: htpasswd's MD5, SHA-1 and crypt forms are too cheap to guess against.
func parseHtpasswd(b []byte) (map[string][]byte, error) {
	users := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("line %d: want user:hash", n)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("line %d (user %q): not a bcrypt hash (make one with htpasswd -B)", n, user)
		}
		if _, dup := users[user]; dup {
			return nil, fmt.Errorf("line %d: user %q appears twice", n, user)
		}
		users[user] = []byte(hash)
	}
	return users, sc.Err()
}

// fileStamp tells whether a file changed.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{fi.ModTime(), fi.Size()}, nil
}
