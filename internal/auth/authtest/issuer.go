package authtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is a token issuer of the tests: a real RSA signing key, its JWKS served on loopback
// (as an OIDC provider's jwks_uri), and tokens signed with it.
type Issuer struct {
	URL      string // the issuer, for the iss claim
	Audience string
	server   *httptest.Server
	mu       sync.Mutex
	key      *rsa.PrivateKey
	kid      string
	rotation int
	fetches  int
}

// NewIssuer starts an issuer whose JWKS is served until the test ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	i := &Issuer{Audience: "sparkgate"}
	i.Rotate(t)
	i.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i.mu.Lock()
		defer i.mu.Unlock()
		i.fetches++
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &i.key.PublicKey, KeyID: i.kid, Algorithm: string(jose.RS256), Use: "sig"}}}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(i.server.Close)
	i.URL = i.server.URL
	return i
}

// JWKS is the URL of the issuer's key set.
func (i *Issuer) JWKS() string { return i.server.URL + "/jwks.json" }

// Fetches counts the requests for the key set.
func (i *Issuer) Fetches() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.fetches
}

// Rotate replaces the signing key with a new one, under a new key id.
func (i *Issuer) Rotate(t testing.TB) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.rotation++
	i.key, i.kid = key, fmt.Sprintf("key-%d", i.rotation)
}

// Claims are a valid token's claims for user: this issuer, its audience, valid for an hour.
func (i *Issuer) Claims(user string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": i.URL, "aud": i.Audience, "sub": user, "iat": now.Unix(),
		"nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// Token signs claims with the current key.
func (i *Issuer) Token(t testing.TB, claims map[string]any) string {
	i.mu.Lock()
	key, kid := i.key, i.kid
	i.mu.Unlock()
	return Sign(t, key, kid, claims)
}

// Sign signs claims with key under kid (RS256).
func Sign(t testing.TB, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}
