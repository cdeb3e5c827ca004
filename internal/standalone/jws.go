package standalone

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Spark 4 protects a Master's REST submission server with a servlet filter
// (spark.master.rest.filters=org.apache.spark.ui.JWSFilter, SPARK-49103): a request must carry
// "Authorization: Bearer <JWS>", signed with HMAC-SHA under the key the filter is given
// (spark.org.apache.spark.ui.JWSFilter.param.secretKey, base64url, at least 256 bits).

// ReadRESTSecret reads the JWSFilter's key from a file: base64url (padded or not), as Spark's
// configuration holds it.
func ReadRESTSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("standalone-rest-secret-file: %w", err)
	}
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(string(b)), "="))
	if err != nil {
		return nil, fmt.Errorf("standalone-rest-secret-file %s: not base64url, as the JWSFilter's secretKey is: %w", path, err)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("standalone-rest-secret-file %s: the key has %d bits; the JWSFilter takes 256 at least", path, 8*len(key))
	}
	return key, nil
}

// tokenLifetime bounds a signed request's validity: each request gets a token of its own.
const tokenLifetime = 5 * time.Minute

// signer returns a function that makes a token for one request, signed with key.
func signer(key []byte) (func() (string, error), error) {
	if len(key) < 32 {
		return nil, errors.New("a JWSFilter key has 256 bits at least")
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	return func() (string, error) {
		now := time.Now()
		return jwt.Signed(s).Claims(jwt.Claims{Subject: "sparkgate", IssuedAt: jwt.NewNumericDate(now),
			Expiry: jwt.NewNumericDate(now.Add(tokenLifetime))}).Serialize()
	}, nil
}
