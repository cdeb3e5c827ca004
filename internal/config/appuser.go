package config

import (
	"errors"
	"flag"
)

func appUserFlag(fs *flag.FlagSet, name *string) {
	fs.StringVar(name, "app-user", "", "OS user that spark-submit and everything under it (user code in local and client mode) run as, never the gateway's own: the store, the driver program, other applications' directories, TLS keys, htpasswd, keytabs and ticket caches stay out of its reach; needs root or CAP_SETUID, CAP_SETGID and CAP_KILL")
}

func (c *Config) validateAppUser() []error {
	if c.AppUser == "" {
		return nil
	}
	if c.AppUser == "root" {
		return []error{errors.New("app-user must not be root: applications would run with every right on this host")}
	}
	if c.LaunchKerberos.On() {
		// the submission would need the gateway's ticket, which the application's user must not read
		return []error{errors.New("app-user does not go with launch-kerberos-principal yet: spark-submit would need the gateway's own ticket cache, which is kept out of the applications' reach")}
	}
	return nil
}
