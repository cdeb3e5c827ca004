package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// verified remembers credentials checked a moment ago, so that a client's every request does
// not pay for a password hash. It keeps an HMAC of user and password under a key of this
// process, never the password, and forgets each after ttl.
type verified struct {
	ttl     time.Duration
	key     []byte
	mu      sync.Mutex
	at      map[[sha256.Size]byte]remembered
	flights singleflight.Group // checks under way, by credentials
}

type remembered struct {
	id Identity
	at time.Time
}

// maxVerified bounds the remembered credentials.
const maxVerified = 1 << 14

func newVerified(ttl time.Duration) *verified {
	key := make([]byte, 32)
	rand.Read(key)
	return &verified{ttl: ttl, key: key, at: map[[sha256.Size]byte]remembered{}}
}

func (v *verified) sum(user, password string) [sha256.Size]byte {
	m := hmac.New(sha256.New, v.key)
	fmt.Fprintf(m, "%d:%s:%s", len(user), user, password)
	var s [sha256.Size]byte
	copy(s[:], m.Sum(nil))
	return s
}

// check returns the identity user and password were verified as a moment ago, or verifies
// them with verify — once for all the requests that bring the same credentials meanwhile: when
// a busy client's remembered check expires, its burst of requests pays for one password hash
// (or directory bind, or signature), not one each. verify says whether to remember its answer.
func (v *verified) check(user, password string, verify func() (Identity, bool, error)) (Identity, error) {
	if id, ok := v.get(user, password); ok {
		return id, nil
	}
	s := v.sum(user, password)
	res, err, _ := v.flights.Do(string(s[:]), func() (any, error) {
		id, remember, err := verify()
		if err == nil && remember {
			v.add(user, password, id)
		}
		return id, err
	})
	if err != nil {
		return Identity{}, err
	}
	return res.(Identity), nil
}

// get returns the identity that user and password were verified as, if it was a moment ago.
func (v *verified) get(user, password string) (Identity, bool) {
	if v.ttl <= 0 {
		return Identity{}, false
	}
	s := v.sum(user, password)
	v.mu.Lock()
	defer v.mu.Unlock()
	r, ok := v.at[s]
	if ok && time.Since(r.at) > v.ttl {
		delete(v.at, s)
		return Identity{}, false
	}
	return r.id, ok
}

// add remembers that user and password were verified as id.
func (v *verified) add(user, password string, id Identity) {
	if v.ttl <= 0 {
		return
	}
	s := v.sum(user, password)
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.at) >= maxVerified {
		for k, r := range v.at {
			if time.Since(r.at) > v.ttl {
				delete(v.at, k)
			}
		}
		if len(v.at) >= maxVerified {
			clear(v.at)
		}
	}
	v.at[s] = remembered{id: id, at: time.Now()}
}

func (v *verified) clear() {
	v.mu.Lock()
	defer v.mu.Unlock()
	clear(v.at)
}
