package auth

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/sparkgate/sparkgate/internal/tlsfiles"
)

// ldapTimeout bounds each exchange with the directory.
const ldapTimeout = 5 * time.Second

// LDAPConfig is how a directory checks HTTP Basic credentials.
type LDAPConfig struct {
	// URL is the directory's ldap:// or ldaps:// URL.
	URL string
	// StartTLS upgrades an ldap:// connection to TLS before any password is sent.
	StartTLS bool
	// CAFile, when set, holds the certificates that the directory's is checked against
	// (the system's otherwise).
	CAFile string
	// BaseDN: a user binds as uid=<user>,<BaseDN> (Livy's livy.server.auth.ldap.base-dn); with
	// BindDN, it is where users are searched.
	BaseDN string
	// Domain: a user binds as <user>@<Domain> (Active Directory; Livy's
	// livy.server.auth.ldap.domain).
	Domain string
	// BindDN and BindPassword are a service account's, for search-then-bind: the user's entry
	// is searched with UserFilter under BaseDN, and the user binds as that entry.
	BindDN, BindPassword string
	// UserFilter finds a user's entry; %s is the escaped user name ((uid=%s) when empty).
	UserFilter string
	// GroupBaseDN and GroupFilter find a user's groups (their cn), as the service account; %s
	// is the escaped DN of the user's entry, %u the escaped user name. None when empty.
	GroupBaseDN, GroupFilter string
	// AllowedGroups, when set, refuses a user in none of them.
	AllowedGroups []string
	// CacheTTL is how long verified credentials are remembered.
	CacheTTL time.Duration
}

// LDAP authenticates HTTP Basic credentials by binding to a directory as the user (--auth
// ldap).
type LDAP struct {
	cfg   LDAPConfig
	tls   *tls.Config
	cache *verified
}

// NewLDAP checks cfg and returns its authenticator; the directory is asked at the first
// request.
func NewLDAP(cfg LDAPConfig) (*LDAP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return nil, fmt.Errorf("ldap url must be ldap://host[:port] or ldaps://host[:port], not %q", cfg.URL)
	}
	switch {
	case cfg.BindDN == "" && cfg.BaseDN == "" && cfg.Domain == "":
		return nil, errors.New("ldap needs a base DN (users bind as uid=<user>,<base DN>), a domain (<user>@<domain>), or a bind DN to search users with")
	case cfg.BindDN != "" && cfg.BaseDN == "":
		return nil, errors.New("ldap search-then-bind needs the base DN to search users under")
	case len(cfg.AllowedGroups) > 0 && cfg.GroupFilter == "":
		return nil, errors.New("ldap allowed groups need a group filter to find a user's groups")
	case cfg.GroupFilter != "" && cfg.BindDN == "":
		return nil, errors.New("ldap group filter needs a bind DN to search groups with")
	}
	if cfg.UserFilter == "" {
		cfg.UserFilter = "(uid=%s)"
	}
	if cfg.GroupBaseDN == "" {
		cfg.GroupBaseDN = cfg.BaseDN
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		if tc.RootCAs, err = tlsfiles.CertPool(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("ldap: %w", err)
		}
	}
	return &LDAP{cfg: cfg, tls: tc, cache: newVerified(cfg.CacheTTL)}, nil
}

func (*LDAP) Name() string      { return "ldap" }
func (*LDAP) Challenge() string { return `Basic realm="sparkgate", charset="UTF-8"` }

func (l *LDAP) Authenticate(_ http.Header, r *http.Request) (Identity, error) {
	user, password, ok := r.BasicAuth()
	if !ok {
		return Identity{}, ErrNoCredentials
	}
	if user == "" || password == "" {
		// a simple bind with an empty password is an anonymous bind, which many directories
		// answer with success
		return Identity{}, fmt.Errorf("%w: empty user or password", ErrBadCredentials)
	}
	return l.cache.check(user, password, func() (Identity, bool, error) {
		id, err := l.check(user, password)
		return id, err == nil, err
	})
}

// check binds as user, and finds the user's groups.
func (l *LDAP) check(user, password string) (Identity, error) {
	conn, err := l.dial()
	if err != nil {
		return Identity{}, err
	}
	defer conn.Close()
	dn := "uid=" + ldap.EscapeDN(user) + "," + l.cfg.BaseDN
	switch {
	case l.cfg.BindDN != "":
		if dn, err = l.search(conn, user); err != nil {
			return Identity{}, err
		}
	case l.cfg.Domain != "":
		dn = user + "@" + l.cfg.Domain
	}
	if err := conn.Bind(dn, password); err != nil {
		return Identity{}, ldapError(err, user)
	}
	id := Identity{User: user}
	if l.cfg.GroupFilter == "" {
		return id, nil
	}
	if id.Groups, err = l.groups(conn, user, dn); err != nil {
		return Identity{}, err
	}
	if len(l.cfg.AllowedGroups) > 0 && !slices.ContainsFunc(id.Groups, func(g string) bool { return slices.Contains(l.cfg.AllowedGroups, g) }) {
		return Identity{}, fmt.Errorf("%w: user %q is in none of the allowed groups", ErrBadCredentials, user)
	}
	return id, nil
}

func (l *LDAP) dial() (*ldap.Conn, error) {
	conn, err := ldap.DialURL(l.cfg.URL, ldap.DialWithDialer(&net.Dialer{Timeout: ldapTimeout}), ldap.DialWithTLSConfig(l.tls))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	conn.SetTimeout(ldapTimeout)
	if l.cfg.StartTLS && strings.HasPrefix(l.cfg.URL, "ldap://") {
		if err := conn.StartTLS(l.tls); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: StartTLS: %v", ErrUnavailable, err)
		}
	}
	return conn, nil
}

// search finds the DN of user's entry, as the service account; the connection stays bound
// as it.
func (l *LDAP) search(conn *ldap.Conn, user string) (string, error) {
	if err := conn.Bind(l.cfg.BindDN, l.cfg.BindPassword); err != nil {
		return "", fmt.Errorf("%w: bind as %s: %v", ErrUnavailable, l.cfg.BindDN, err)
	}
	res, err := conn.Search(ldap.NewSearchRequest(l.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, int(ldapTimeout/time.Second), false,
		strings.ReplaceAll(l.cfg.UserFilter, "%s", ldap.EscapeFilter(user)), []string{"dn"}, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return "", fmt.Errorf("%w: search user %q: %v", ErrUnavailable, user, err)
	}
	if res == nil || len(res.Entries) != 1 {
		return "", fmt.Errorf("%w: user %q does not match exactly one entry", ErrBadCredentials, user)
	}
	return res.Entries[0].DN, nil
}

// groups lists the cn of user's groups; bound as the service account again first.
func (l *LDAP) groups(conn *ldap.Conn, user, dn string) ([]string, error) {
	if err := conn.Bind(l.cfg.BindDN, l.cfg.BindPassword); err != nil {
		return nil, fmt.Errorf("%w: bind as %s: %v", ErrUnavailable, l.cfg.BindDN, err)
	}
	filter := strings.NewReplacer("%s", ldap.EscapeFilter(dn), "%u", ldap.EscapeFilter(user)).Replace(l.cfg.GroupFilter)
	res, err := conn.Search(ldap.NewSearchRequest(l.cfg.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, int(ldapTimeout/time.Second), false,
		filter, []string{"cn"}, nil))
	if err != nil {
		return nil, fmt.Errorf("%w: search the groups of %q: %v", ErrUnavailable, user, err)
	}
	var groups []string
	for _, e := range res.Entries {
		if cn := e.GetAttributeValue("cn"); cn != "" {
			groups = append(groups, cn)
		}
	}
	return groups, nil
}

// ldapError tells a wrong password (or unknown user) from a directory that fails.
func ldapError(err error, user string) error {
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) || ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidDNSyntax) ||
		ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return fmt.Errorf("%w: user %q: %v", ErrBadCredentials, user, err)
	}
	return fmt.Errorf("%w: bind as %q: %v", ErrUnavailable, user, err)
}
