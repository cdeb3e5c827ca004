package config

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// Access is who may do what (see internal/access); Livy's livy.server.access-control.* and
// livy.superusers.
type Access struct {
	Enabled                                          bool
	AllowedUsers, ViewUsers, ModifyUsers, Superusers []string
	GroupFile                                        string
	// ImpersonationRules are user=target|target entries (users, group:NAME, *).
	ImpersonationRules []string
}

func (a *Access) flags(fs *flag.FlagSet) {
	fs.BoolVar(&a.Enabled, "access-control", false, "check who may use the server and view or modify each session (Livy's livy.server.access-control.enabled); needs an --auth")
	a.AllowedUsers = []string{"*"}
	fs.Var(listFlag{&a.AllowedUsers}, "allowed-users", "comma-separated users (and group:NAME) who may use the server, with --access-control (* for all)")
	fs.Var(listFlag{&a.ViewUsers}, "view-users", "comma-separated users (and group:NAME) who may view every session, with --access-control")
	fs.Var(listFlag{&a.ModifyUsers}, "modify-users", "comma-separated users (and group:NAME) who may view and modify every session, with --access-control")
	fs.Var(listFlag{&a.Superusers}, "superusers", "comma-separated users (and group:NAME) who may do everything and impersonate anyone (Livy's livy.superusers)")
	fs.StringVar(&a.GroupFile, "group-file", "", "static groups, lines of group: user, user …, for users whose authenticator tells no groups")
	fs.Var(listFlag{&a.ImpersonationRules}, "impersonation-rules", "comma-separated user=target|target rules of whom else a user may impersonate, with --impersonation (users, group:NAME, *; as Hadoop's proxyuser.<u>.users/groups)")
}

// Rules reads ImpersonationRules.
func (a *Access) Rules() (map[string][]string, error) {
	rules := map[string][]string{}
	for _, r := range a.ImpersonationRules {
		who, whom, ok := strings.Cut(r, "=")
		if who = strings.TrimSpace(who); !ok || who == "" || who == "*" || strings.TrimSpace(whom) == "" {
			return nil, fmt.Errorf("impersonation-rules entry %q must be user=target|target (a user or group:NAME, then users, group:NAME or *)", r)
		}
		for _, target := range strings.Split(whom, "|") {
			if target = strings.TrimSpace(target); target != "" {
				rules[who] = append(rules[who], target)
			}
		}
	}
	return rules, nil
}

func (a *Access) validate(authType string) []error {
	var errs []error
	if a.Enabled && authType == "none" {
		errs = append(errs, errors.New("access-control needs an --auth other than none: without it every request is anonymous"))
	}
	if _, err := a.Rules(); err != nil {
		errs = append(errs, err)
	}
	return errs
}
