package server

// How requests are authenticated, what their users may do, and how TLS is served and trusted,
// from the configuration.

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/sparkgate/sparkgate/internal/access"
	"github.com/sparkgate/sparkgate/internal/kinit"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/tlsfiles"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/config"
	"github.com/sparkgate/sparkgate/internal/metrics"
)

// authenticator builds the authenticator of --auth; what it reads (an htpasswd file) is read
// now, so that a wrong setting stops the start.
func authenticator(cfg config.Auth, log *slog.Logger) (auth.Authenticator, error) {
	switch cfg.Type {
	case "none":
		if cfg.AllowUnauthenticated {
			log.Warn("serving without authentication (--auth none --allow-unauthenticated): anyone who reaches this server can run code on the cluster")
		}
		return auth.None{}, nil
	case "basic":
		return auth.NewHtpasswd(cfg.Htpasswd, cfg.CacheTTL)
	case "ldap":
		l := cfg.LDAP
		c := auth.LDAPConfig{URL: l.URL, StartTLS: l.StartTLS, CAFile: l.CAFile, BaseDN: l.BaseDN, Domain: l.Domain,
			BindDN: l.BindDN, UserFilter: l.UserFilter, GroupBaseDN: l.GroupBaseDN, GroupFilter: l.GroupFilter,
			AllowedGroups: l.AllowedGroups, CacheTTL: cfg.CacheTTL}
		if l.BindPasswordFile != "" {
			b, err := os.ReadFile(l.BindPasswordFile)
			if err != nil {
				return nil, fmt.Errorf("ldap bind password: %w", err)
			}
			c.BindPassword = strings.TrimRight(string(b), "\r\n")
		}
		return auth.NewLDAP(c)
	case "kerberos":
		return auth.NewKerberos(auth.KerberosConfig{Keytab: cfg.KerberosKeytab, Principal: cfg.KerberosPrincipal})
	case "jwt":
		return auth.NewJWT(auth.JWTConfig{JWKS: cfg.JWTJWKSURL, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
			UserClaim: cfg.JWTUserClaim, GroupsClaim: cfg.JWTGroupsClaim, CacheTTL: cfg.CacheTTL}, nil)
	}
	return nil, fmt.Errorf("auth %q is not built in", cfg.Type)
}

// countAuth counts authentication attempts by outcome.
func countAuth(m *metrics.Metrics) func(string) {
	return func(outcome string) { m.AuthAttempts.WithLabelValues(outcome).Inc() }
}

// accessPolicy builds the access control of cfg.
func accessPolicy(cfg *config.Config) (*access.Policy, error) {
	a := cfg.Access
	rules, err := a.Rules()
	if err != nil {
		return nil, err
	}
	var groups map[string][]string
	if a.GroupFile != "" {
		if groups, err = access.ReadGroups(a.GroupFile); err != nil {
			return nil, err
		}
	}
	return access.New(access.Config{Enabled: a.Enabled, Allowed: a.AllowedUsers, Viewers: a.ViewUsers, Modifiers: a.ModifyUsers,
		Superusers: a.Superusers, Groups: groups, Impersonation: cfg.Impersonation, MayImpersonate: rules}), nil
}

// peerTLSConfig is how peer instances are reached when the fleet serves TLS: trusting
// --tls-ca-file, or the system's CAs; nil for plain HTTP.
func peerTLSConfig(cfg config.TLS) (*tls.Config, error) {
	if !cfg.On() {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		var err error
		if c.RootCAs, err = tlsfiles.CertPool(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("tls-ca-file: %w", err)
		}
	}
	return c, nil
}

// launchTicket keeps the gateway's own ticket, from the launch keytab, in a cache of its own
// in dataDir, which spark-submit then submits with; it fails when the first kinit does.
func launchTicket(ctx context.Context, cfg config.LaunchKerberos, dataDir string, log *slog.Logger) (*kinit.Keeper, error) {
	k := kinit.New(kinit.Config{Principal: cfg.Principal, Keytab: cfg.Keytab, Refresh: cfg.Refresh,
		Cache: filepath.Join(dataDir, "kerberos", "launch.ccache"), Env: launcher.AppEnvironment(os.Environ(), nil)},
		log.With("component", "kinit"))
	if err := k.Start(ctx); err != nil {
		return nil, fmt.Errorf("launch-kerberos-principal: %w", err)
	}
	return k, nil
}
