package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/auth/authtest"
)

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func newJWT(t *testing.T, iss *authtest.Issuer) *auth.JWT {
	t.Helper()
	j, err := auth.NewJWT(auth.JWTConfig{JWKS: iss.JWKS(), Issuer: iss.URL, Audience: iss.Audience, UserClaim: "preferred_username", CacheTTL: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestJWTConformance(t *testing.T) {
	iss := authtest.NewIssuer(t)
	claims := func(change func(map[string]any)) map[string]any {
		c := iss.Claims("u-123")
		c["preferred_username"] = "alice"
		change(c)
		return c
	}
	good := iss.Token(t, claims(func(map[string]any) {}))
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	hour := time.Hour
	hs256, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("a shared secret of 32 bytes!!!!!")}, nil)
	hsToken, _ := jwt.Signed(hs256).Claims(claims(func(map[string]any) {})).Serialize()
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + iss.URL + `","aud":"sparkgate","preferred_username":"alice","exp":9999999999}`))
	authtest.Run(t, authtest.Subject{Auth: newJWT(t, iss), User: "alice", Good: bearer(good),
		Bad: map[string]func(*http.Request){
			"expired":               bearer(iss.Token(t, claims(func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() }))),
			"not valid yet":         bearer(iss.Token(t, claims(func(c map[string]any) { c["nbf"] = time.Now().Add(hour).Unix() }))),
			"without exp":           bearer(iss.Token(t, claims(func(c map[string]any) { delete(c, "exp") }))),
			"another issuer":        bearer(iss.Token(t, claims(func(c map[string]any) { c["iss"] = "https://evil.example" }))),
			"another audience":      bearer(iss.Token(t, claims(func(c map[string]any) { c["aud"] = "another-service" }))),
			"no user claim":         bearer(iss.Token(t, claims(func(c map[string]any) { delete(c, "preferred_username") }))),
			"signed by another key": bearer(authtest.Sign(t, other, "key-1", claims(func(map[string]any) {}))),
			"an unknown key id":     bearer(authtest.Sign(t, other, "key-9", claims(func(map[string]any) {}))),
			"HMAC-signed":           bearer(hsToken),
			`alg "none"`:            bearer(base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + payload + "."),
			"not a token":           bearer("not.a.token"),
			"a tampered payload":    bearer(strings.Join([]string{strings.Split(good, ".")[0], payload, strings.Split(good, ".")[2]}, ".")),
		},
		Foreign: basic("alice", "secret"),
	})
}

// The issuer rotates its key: a token of the new key passes once the set is fetched again,
// which a token naming an unknown key triggers — at most once per 10 s, however many come.
func TestJWTFollowsKeyRotation(t *testing.T) {
	iss := authtest.NewIssuer(t)
	j := newJWT(t, iss)
	claims := iss.Claims("u")
	claims["preferred_username"] = "alice"
	authenticate := func(token string) error {
		r, _ := http.NewRequest("GET", "/", nil)
		bearer(token)(r)
		_, err := j.Authenticate(http.Header{}, r)
		return err
	}
	if err := authenticate(iss.Token(t, claims)); err != nil {
		t.Fatal(err)
	}
	iss.Rotate(t)
	if err := authenticate(iss.Token(t, claims)); err != nil {
		t.Errorf("a token of the rotated key: %v", err)
	}
	fetches := iss.Fetches()
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for range 20 {
		authenticate(authtest.Sign(t, other, "made-up", claims))
	}
	if n := iss.Fetches() - fetches; n > 1 {
		t.Errorf("20 tokens of made-up keys fetched the key set %d times, want at most once", n)
	}
}

func TestJWTNeedsIssuerAndAudience(t *testing.T) {
	for _, cfg := range []auth.JWTConfig{
		{JWKS: "https://idp/jwks", Audience: "a"},
		{JWKS: "https://idp/jwks", Issuer: "i"},
		{JWKS: "idp/jwks", Issuer: "i", Audience: "a"},
	} {
		if _, err := auth.NewJWT(cfg, nil); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// An issuer whose key set cannot be fetched makes a token unverifiable, not wrong: 503
// (ErrUnavailable) while it lasts, every time, not 401 once a retry was refused.
func TestJWTWithoutItsKeySetIsUnavailable(t *testing.T) {
	iss := authtest.NewIssuer(t)
	j, err := auth.NewJWT(auth.JWTConfig{JWKS: "http://127.0.0.1:1/jwks.json", Issuer: iss.URL, Audience: iss.Audience}, nil)
	if err != nil {
		t.Fatal(err)
	}
	token := iss.Token(t, iss.Claims("alice"))
	for range 3 {
		r, _ := http.NewRequest("GET", "/", nil)
		bearer(token)(r)
		if _, err := j.Authenticate(http.Header{}, r); !errors.Is(err, auth.ErrUnavailable) {
			t.Errorf("= %v, want ErrUnavailable", err)
		}
	}
}
