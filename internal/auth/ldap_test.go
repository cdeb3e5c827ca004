package auth_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/auth/authtest"
	"github.com/sparkgate/sparkgate/internal/auth/ldaptest"
)

// Each way of finding the user's entry, over each way of protecting the password, against a
// real slapd.
func TestLDAPConformance(t *testing.T) {
	d := ldaptest.Start(t)
	search := auth.LDAPConfig{BaseDN: ldaptest.People, BindDN: ldaptest.BindDN, BindPassword: ldaptest.BindPassword,
		GroupBaseDN: ldaptest.Groups, GroupFilter: "(&(objectClass=groupOfNames)(member=%s))"}
	cases := map[string]auth.LDAPConfig{
		"bind as uid=<user>,<base DN>":           {URL: d.URL, BaseDN: ldaptest.People},
		"bind as uid=<user>,<base DN>, StartTLS": {URL: d.URL, StartTLS: true, CAFile: d.CAFile, BaseDN: ldaptest.People},
		"search then bind, LDAPS, groups":        withURL(search, d.TLSURL, d.CAFile),
		"search then bind, only allowed groups":  withGroups(withURL(search, d.URL, ""), "analysts"),
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			cfg.CacheTTL = time.Minute
			l, err := auth.NewLDAP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			bad := map[string]func(*http.Request){
				"wrong password":       basic("alice", "alice"),
				"another's password":   basic("alice", ldaptest.Users["bob"]),
				"unknown user":         basic("mallory", "alice in LDAP"),
				"empty password":       basic("alice", ""),
				"a filter as the user": basic("*", "alice in LDAP"),
				"a DN as the user":     basic("alice,ou=people", "alice in LDAP"),
			}
			if len(cfg.AllowedGroups) > 0 {
				bad["a user in no allowed group"] = basic("bob", ldaptest.Users["bob"])
			}
			authtest.Run(t, authtest.Subject{Auth: l, User: "alice", Good: basic("alice", ldaptest.Users["alice"]), Bad: bad,
				Foreign: func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }})
			if cfg.GroupFilter != "" {
				r, _ := http.NewRequest("GET", "/", nil)
				r.SetBasicAuth("carol", ldaptest.Users["carol"])
				if id, err := l.Authenticate(http.Header{}, r); err != nil || !slices.Equal(id.Groups, []string{"analysts"}) {
					t.Errorf("carol: %+v, %v; want her group analysts", id, err)
				}
			}
		})
	}
}

func withURL(c auth.LDAPConfig, url, ca string) auth.LDAPConfig {
	c.URL, c.CAFile = url, ca
	return c
}

func withGroups(c auth.LDAPConfig, groups ...string) auth.LDAPConfig {
	c.AllowedGroups = groups
	return c
}

// A directory that does not answer makes credentials unverifiable: 503, not 401.
func TestLDAPDownIsUnavailable(t *testing.T) {
	l, err := auth.NewLDAP(auth.LDAPConfig{URL: "ldap://127.0.0.1:1", BaseDN: ldaptest.People})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth("alice", "x")
	if _, err := l.Authenticate(http.Header{}, r); err == nil || !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("= %v, want ErrUnavailable", err)
	}
}

// A directory whose certificate this server does not trust is never sent a password.
func TestLDAPUntrustedCertificateIsRefused(t *testing.T) {
	d := ldaptest.Start(t)
	for name, cfg := range map[string]auth.LDAPConfig{
		"ldaps":    {URL: d.TLSURL, BaseDN: ldaptest.People},
		"StartTLS": {URL: d.URL, StartTLS: true, BaseDN: ldaptest.People},
	} {
		l, err := auth.NewLDAP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth("alice", ldaptest.Users["alice"])
		if id, err := l.Authenticate(http.Header{}, r); !errors.Is(err, auth.ErrUnavailable) {
			t.Errorf("%s with a certificate of no trusted CA: %+v, %v; want ErrUnavailable", name, id, err)
		}
	}
}
