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
	// LDAP is the directory of --auth ldap.
	LDAP LDAP
	// KerberosKeytab and KerberosPrincipal are the service's, for --auth kerberos.
	KerberosKeytab, KerberosPrincipal string
	// JWT* are what a bearer token of --auth jwt must be.
	JWTJWKSURL, JWTIssuer, JWTAudience, JWTUserClaim, JWTGroupsClaim string
}

// authTypes maps each --auth value, and Livy's livy.server.auth.type names, to the type.
var authTypes = map[string]string{"none": "none", "": "none", "basic": "basic", "jwt": "jwt", "ldap": "ldap", "kerberos": "kerberos", "spnego": "kerberos"}

func (a *Auth) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.Type, "auth", "none", "how requests are authenticated: none, basic (an htpasswd file), ldap (a directory), kerberos (SPNEGO) or jwt (bearer tokens of an OIDC issuer); Livy's livy.server.auth.type")
	fs.BoolVar(&a.AllowUnauthenticated, "allow-unauthenticated", false, "let --auth none serve on an address other than loopback (anyone who reaches it can run code on the cluster)")
	fs.StringVar(&a.Htpasswd, "htpasswd", "", "htpasswd file of --auth basic: user:bcrypt-hash lines, as htpasswd -B writes them; re-read when it changes")
	a.LDAP.flags(fs)
	fs.StringVar(&a.KerberosKeytab, "kerberos-keytab", "", "keytab of the HTTP service principal, with --auth kerberos (Livy's livy.server.auth.kerberos.keytab)")
	fs.StringVar(&a.KerberosPrincipal, "kerberos-principal", "", "the service principal tickets must be for, HTTP/host@REALM (Livy's livy.server.auth.kerberos.principal; default: any of the keytab's)")
	fs.StringVar(&a.JWTJWKSURL, "jwt-jwks-url", "", "the issuer's JSON Web Key Set (its jwks_uri; https://, or file:// for a local one), with --auth jwt")
	fs.StringVar(&a.JWTIssuer, "jwt-issuer", "", "the iss claim a token must carry, with --auth jwt")
	fs.StringVar(&a.JWTAudience, "jwt-audience", "", "a value the token's aud claim must hold (this service's client id), with --auth jwt")
	fs.StringVar(&a.JWTUserClaim, "jwt-user-claim", "sub", "the claim that holds the user name (preferred_username, email …), with --auth jwt")
	fs.StringVar(&a.JWTGroupsClaim, "jwt-groups-claim", "groups", "the claim that lists the user's groups, with --auth jwt")
	fs.DurationVar(&a.CacheTTL, "auth-cache-ttl", time.Minute, "how long a verified password or token is remembered, sparing a client's every request the password hash or signature check (0: never; a token no longer than it is valid)")
}

func (a *Auth) validate(addr string) []error {
	var errs []error
	typ, ok := authTypes[strings.ToLower(a.Type)]
	if !ok {
		return []error{fmt.Errorf("auth must be none, basic, ldap, kerberos or jwt, not %q", a.Type)}
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
	case "ldap":
		errs = append(errs, a.LDAP.validate()...)
	case "kerberos":
		if a.KerberosKeytab == "" {
			errs = append(errs, errors.New("auth kerberos needs --kerberos-keytab, the keytab of the HTTP service principal (kadmin: ktadd -k FILE HTTP/host)"))
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

// LoopbackOnly reports whether the server listens on loopback only.
func (c *Config) LoopbackOnly() bool { return loopback(c.Addr) }

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

// LDAP is the directory of --auth ldap (Livy's livy.server.auth.ldap.*), as auth.LDAPConfig.
type LDAP struct {
	URL, CAFile, BaseDN, Domain, BindDN, BindPasswordFile, UserFilter, GroupBaseDN, GroupFilter string
	StartTLS                                                                                    bool
	AllowedGroups                                                                               []string
}

func (l *LDAP) flags(fs *flag.FlagSet) {
	fs.StringVar(&l.URL, "ldap-url", "", "the directory of --auth ldap: ldap://host[:389] or ldaps://host[:636] (Livy's livy.server.auth.ldap.url)")
	fs.BoolVar(&l.StartTLS, "ldap-start-tls", false, "upgrade an ldap:// connection with StartTLS before a password is sent")
	fs.StringVar(&l.CAFile, "ldap-ca-file", "", "PEM certificates the directory's certificate is checked against (default: the system's)")
	fs.StringVar(&l.BaseDN, "ldap-base-dn", "", "users bind as uid=<user>,<base DN> (Livy's livy.server.auth.ldap.base-dn); with --ldap-bind-dn, where users are searched")
	fs.StringVar(&l.Domain, "ldap-domain", "", "users bind as <user>@<domain>, as Active Directory takes them (Livy's livy.server.auth.ldap.domain)")
	fs.StringVar(&l.BindDN, "ldap-bind-dn", "", "a service account that searches the user's entry with --ldap-user-filter, then the user binds as that entry")
	fs.StringVar(&l.BindPasswordFile, "ldap-bind-password-file", "", "file holding the service account's password")
	fs.StringVar(&l.UserFilter, "ldap-user-filter", "(uid=%s)", "filter that finds a user's entry; %s is the user name")
	fs.StringVar(&l.GroupBaseDN, "ldap-group-base-dn", "", "where groups are searched (default: --ldap-base-dn)")
	fs.StringVar(&l.GroupFilter, "ldap-group-filter", "", "filter that finds a user's groups (their cn), e.g. (&(objectClass=groupOfNames)(member=%s)); %s is the user's DN, %u the user name")
	fs.Var(listFlag{&l.AllowedGroups}, "ldap-allowed-groups", "comma-separated groups; a user in none of them is refused (needs --ldap-group-filter)")
}

func (l *LDAP) validate() []error {
	var errs []error
	if l.URL == "" {
		errs = append(errs, errors.New("auth ldap needs --ldap-url"))
	}
	if l.BaseDN == "" && l.Domain == "" {
		errs = append(errs, errors.New("auth ldap needs --ldap-base-dn (uid=<user>,<base DN>, or where --ldap-bind-dn searches) or --ldap-domain (<user>@<domain>)"))
	}
	if (l.BindDN == "") != (l.BindPasswordFile == "") {
		errs = append(errs, errors.New("ldap-bind-dn and ldap-bind-password-file go together"))
	}
	return errs
}
