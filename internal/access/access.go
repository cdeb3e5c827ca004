// Package access decides what an authenticated user may do, as Livy's AccessManager does
// (livy.server.access-control.*, livy.superusers) and beyond it with groups: who may use the
// server at all, who may view or modify a session (its owner and proxy user, the view and
// modify users, the superusers), and whom a user may impersonate. It knows users and groups,
// never HTTP.
package access

import (
	"slices"
	"strings"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/errkind"
)

// Right is what a request does to a session.
type Right int

const (
	View   Right = iota // read it: its view, state, log, statements
	Modify              // change it: statements, cancel, completion, uploads, DELETE
)

func (r Right) String() string { return [...]string{"view", "modify"}[r] }

// Config is the access control of a deployment. Lists hold user names, group:NAME entries
// and * (anybody).
type Config struct {
	// Enabled turns access control on (Livy's livy.server.access-control.enabled); off, every
	// authenticated user may do everything, as in Livy.
	Enabled bool
	// Allowed may use the server at all (default *).
	Allowed []string
	// Viewers may view every session; Modifiers may view and modify every session.
	Viewers, Modifiers []string
	// Superusers may do everything, and impersonate anyone (Livy's livy.superusers).
	Superusers []string
	// Groups are static groups (group -> members), for users whose authenticator tells none.
	Groups map[string][]string
	// Impersonation lets a session run as its proxyUser (Livy's livy.impersonation.enabled).
	Impersonation bool
	// MayImpersonate lists, per user or group:NAME, whom else they may impersonate (users,
	// group:NAME, *), as Hadoop's hadoop.proxyuser.<u>.users and .groups.
	MayImpersonate map[string][]string
}

// Policy applies a Config.
type Policy struct {
	cfg Config
}

// New returns the policy of cfg.
func New(cfg Config) *Policy {
	if len(cfg.Allowed) == 0 {
		cfg.Allowed = []string{"*"}
	}
	return &Policy{cfg: cfg}
}

// groupsOf are id's groups: the authenticator's and the static ones.
func (p *Policy) groupsOf(id auth.Identity) []string {
	groups := slices.Clone(id.Groups)
	for group, members := range p.cfg.Groups {
		if slices.Contains(members, id.User) {
			groups = append(groups, group)
		}
	}
	return groups
}

// matches reports whether id is one of list's entries.
func (p *Policy) matches(id auth.Identity, list []string) bool {
	var groups []string
	looked := false
	for _, e := range list {
		group, isGroup := strings.CutPrefix(e, "group:")
		switch {
		case e == "*":
			return true
		case isGroup:
			if !looked {
				groups, looked = p.groupsOf(id), true
			}
			if group != "" && slices.Contains(groups, group) {
				return true
			}
		case e == id.User:
			return true
		}
	}
	return false
}

func (p *Policy) superuser(id auth.Identity) bool { return p.matches(id, p.cfg.Superusers) }

// Use checks that id may use the server at all.
func (p *Policy) Use(id auth.Identity) error {
	if !p.cfg.Enabled || p.matches(id, p.cfg.Allowed) || p.superuser(id) {
		return nil
	}
	return errkind.New(errkind.Forbidden, "user %q is not allowed to use this server", id.User)
}

// Session is what access to a session depends on.
type Session struct {
	Kind             string // batch or session, for messages
	ID               int64
	Owner, ProxyUser string
}

// Check checks that id may do right to s.
func (p *Policy) Check(id auth.Identity, right Right, s Session) error {
	if p.Can(id, right, s) {
		return nil
	}
	return errkind.New(errkind.Forbidden, "user %q may not %s %s %d", id.User, right, s.Kind, s.ID)
}

// Can reports whether id may do right to s: its owner and its proxy user may do anything to
// it, modifiers and superusers too, viewers only view.
func (p *Policy) Can(id auth.Identity, right Right, s Session) bool {
	if !p.cfg.Enabled {
		return true
	}
	switch {
	case !id.Anonymous() && (id.User == s.Owner || id.User == s.ProxyUser):
		return true
	case p.superuser(id) || p.matches(id, p.cfg.Modifiers):
		return true
	}
	return right == View && p.matches(id, p.cfg.Viewers)
}

// ViewsAll reports whether id may view every session (a list need not be filtered).
func (p *Policy) ViewsAll(id auth.Identity) bool {
	return !p.cfg.Enabled || p.superuser(id) || p.matches(id, p.cfg.Modifiers) || p.matches(id, p.cfg.Viewers)
}

// ProxyUser decides whom a session that id creates runs as: requested is the body's
// proxyUser, doAs the request's ?doAs= (Livy's), either may be empty. With impersonation
// off, neither is accepted: a proxyUser shown but not applied would mislead. With it on, a
// user runs as themselves by default (as Livy impersonates the requesting user), as another
// user when a superuser or allowed by MayImpersonate.
func (p *Policy) ProxyUser(id auth.Identity, requested, doAs string) (string, error) {
	if requested != "" && doAs != "" && requested != doAs {
		return "", errkind.Invalidf("proxyUser %q and doAs %q differ: give one", requested, doAs)
	}
	want := max(requested, doAs)
	switch {
	case !p.cfg.Impersonation && want != "":
		return "", errkind.Invalidf("impersonation is off on this server (--impersonation): proxyUser and doAs are not accepted")
	case !p.cfg.Impersonation:
		return "", nil
	case id.Anonymous():
		return want, nil // no authentication: no user to check (and no access control)
	case want == "" || want == id.User:
		return id.User, nil
	case p.superuser(id):
		return want, nil
	}
	target := auth.Identity{User: want, Groups: p.groupsOf(auth.Identity{User: want})}
	for who, whom := range p.cfg.MayImpersonate {
		if p.matches(id, []string{who}) && p.matches(target, whom) {
			return want, nil
		}
	}
	return "", errkind.New(errkind.Forbidden, "user %q may not impersonate %q", id.User, want)
}
