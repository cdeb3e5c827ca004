package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"time"
)

// Auth is how requests are authenticated (see internal/auth).
type Auth struct {
	// Type is none, basic (or any other Authenticator's name).
	Type string
	// AllowUnauthenticated lets --auth none serve on an address other than loopback.
	AllowUnauthenticated bool
	// Htpasswd is the file of users and bcrypt hashes of --auth basic.
	Htpasswd string
	// CacheTTL is how long a verified password is remembered.
	CacheTTL time.Duration
	// JWT* are what a bearer token of --auth jwt must be.
	JWTJWKSURL, JWTIssuer, JWTAudience, JWTUserClaim, JWTGroupsClaim string
}

// authTypes maps each --auth value, and Livy's livy.server.auth.type names, to the type.
var authTypes = map[string]string{"none": "none", "": "none", "basic": "basic", "jwt": "jwt"}

func (a *Auth) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.Type, "auth", "none", "how requests are authenticated: none, basic (an htpasswd file) or jwt (bearer tokens of an OIDC issuer); Livy's livy.server.auth.type")
	fs.BoolVar(&a.AllowUnauthenticated, "allow-unauthenticated", false, "let --auth none serve on an address other than loopback (anyone who reaches it can run code on the cluster)")
	fs.StringVar(&a.Htpasswd, "htpasswd", "", "htpasswd file of --auth basic: user:bcrypt-hash lines, as htpasswd -B writes them; re-read when it changes")
	fs.StringVar(&a.JWTJWKSURL, "jwt-jwks-url", "", "the issuer's JSON Web Key Set (its jwks_uri; https://, or file:// for a local one), with --auth jwt")
	fs.StringVar(&a.JWTIssuer, "jwt-issuer", "", "the iss claim a token must carry, with --auth jwt")
	fs.StringVar(&a.JWTAudience, "jwt-audience", "", "a value the token's aud claim must hold (this service's client id), with --auth jwt")
	fs.StringVar(&a.JWTUserClaim, "jwt-user-claim", "sub", "the claim that holds the user name (preferred_username, email …), with --auth jwt")
	fs.StringVar(&a.JWTGroupsClaim, "jwt-groups-claim", "groups", "the claim that lists the user's groups, with --auth jwt")
	fs.DurationVar(&a.CacheTTL, "auth-cache-ttl", time.Minute, "how long a verified password is remembered, sparing a client's every request the password hash (0: never)")
}

func (a *Auth) validate(addr string) []error {
	var errs []error
	typ, ok := authTypes[strings.ToLower(a.Type)]
	if !ok {
		return []error{fmt.Errorf("auth must be none, basic or jwt, not %q", a.Type)}
	}
	a.Type = typ
	switch typ {
	case "none":
		if !a.AllowUnauthenticated && !loopback(addr) {
			errs = append(errs, fmt.Errorf("auth none on %s would let anyone who reaches it run code on the cluster: choose an --auth, serve on a loopback address, or give --allow-unauthenticated", addr))
		}
	case "basic":
		if a.Htpasswd == "" {
			errs = append(errs, errors.New("auth basic needs --htpasswd, a file of user:bcrypt-hash lines (htpasswd -B -c FILE USER makes one)"))
		}
	case "jwt":
		if a.JWTJWKSURL == "" || a.JWTIssuer == "" || a.JWTAudience == "" {
			errs = append(errs, errors.New("auth jwt needs --jwt-jwks-url, --jwt-issuer and --jwt-audience: a token of another issuer or for another service must not pass"))
		}
	}
	if a.CacheTTL < 0 {
		errs = append(errs, fmt.Errorf("auth-cache-ttl must not be negative, not %s", a.CacheTTL))
	}
	return errs
}

// loopback reports whether addr (host:port) listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
