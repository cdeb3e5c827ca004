package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// tokenLeeway is the clock skew allowed between the token's issuer and this server.
const tokenLeeway = 30 * time.Second

// signatureAlgorithms are the asymmetric algorithms a token may be signed with. HMAC is left
// out: its key is a shared secret, and a JWKS of public keys must never become one ("alg
// confusion"); "none" is not an algorithm go-jose verifies at all.
var signatureAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// JWTConfig is what a bearer token must be to be accepted.
type JWTConfig struct {
	// JWKS is the URL of the issuer's JSON Web Key Set (https://…, or file:///… for a local one).
	JWKS string
	// Issuer must equal the token's iss claim.
	Issuer string
	// Audience must be among the token's aud claim.
	Audience string
	// UserClaim names the claim that holds the user name (sub when empty).
	UserClaim string
	// GroupsClaim names the claim that lists the user's groups (groups when empty).
	GroupsClaim string
	// CacheTTL is how long a verified token is remembered (0: never): a client sends the
	// same token with every request, and a signature check costs more than the request.
	CacheTTL time.Duration
}

// JWT authenticates OIDC-style bearer tokens: signed by a key of the issuer's JWKS, of the
// configured issuer and audience, within their validity (--auth jwt).
type JWT struct {
	cfg   JWTConfig
	keys  *keySet
	cache *verified
}

// NewJWT returns the authenticator of cfg; the JWKS is fetched at the first token.
func NewJWT(cfg JWTConfig, client *http.Client) (*JWT, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("jwt needs an issuer and an audience: a token for another service must not pass")
	}
	if cfg.UserClaim == "" {
		cfg.UserClaim = "sub"
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	keys, err := newKeySet(cfg.JWKS, client)
	if err != nil {
		return nil, err
	}
	return &JWT{cfg: cfg, keys: keys, cache: newVerified(cfg.CacheTTL)}, nil
}

func (*JWT) Name() string      { return "jwt" }
func (*JWT) Challenge() string { return `Bearer realm="sparkgate"` }

func (j *JWT) Authenticate(header http.Header, r *http.Request) (Identity, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Identity{}, ErrNoCredentials
	}
	token = strings.TrimSpace(token)
	return j.cache.check("", token, func() (Identity, bool, error) {
		id, exp, err := j.verify(header, r, token)
		return id, err == nil && time.Until(exp) > j.cfg.CacheTTL, err // remembered no longer than the token is good
	})
}

// verify checks token's signature and claims, and returns whom it names and when it expires.
func (j *JWT) verify(header http.Header, r *http.Request, token string) (Identity, time.Time, error) {
	bad := func(why error) (Identity, time.Time, error) {
		header.Set("WWW-Authenticate", `Bearer realm="sparkgate", error="invalid_token"`)
		return Identity{}, time.Time{}, fmt.Errorf("%w: %v", ErrBadCredentials, why)
	}
	parsed, err := jwt.ParseSigned(token, signatureAlgorithms)
	if err != nil {
		return bad(err)
	}
	if len(parsed.Headers) != 1 {
		return bad(errors.New("want one signature"))
	}
	key, err := j.keys.key(r.Context(), parsed.Headers[0].KeyID)
	if err != nil {
		return Identity{}, time.Time{}, err // ErrBadCredentials for an unknown key, else the JWKS is unavailable
	}
	var std jwt.Claims
	var all map[string]any
	if err := parsed.Claims(key, &std, &all); err != nil {
		return bad(err)
	}
	if std.Expiry == nil {
		return bad(errors.New("no exp claim: a token must expire"))
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: j.cfg.Issuer, AnyAudience: jwt.Audience{j.cfg.Audience}}, tokenLeeway); err != nil {
		return bad(err)
	}
	user, _ := all[j.cfg.UserClaim].(string)
	if user == "" {
		return bad(fmt.Errorf("no user name in claim %q", j.cfg.UserClaim))
	}
	return Identity{User: user, Groups: stringsOf(all[j.cfg.GroupsClaim])}, std.Expiry.Time(), nil
}

// stringsOf reads a claim that is a list of strings, or one string.
func stringsOf(claim any) []string {
	switch v := claim.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// parseJWKS reads a JSON Web Key Set, keeping its public signing keys.
func parseJWKS(b []byte) (map[string]jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	keys := map[string]jose.JSONWebKey{}
	for _, k := range set.Keys {
		if !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		keys[k.KeyID] = k
	}
	if len(keys) == 0 {
		return nil, errors.New("the JSON Web Key Set has no public signing key")
	}
	return keys, nil
}
