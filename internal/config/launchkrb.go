package config

import (
	"errors"
	"flag"
	"time"
)

// LaunchKerberos is the gateway's own Kerberos identity, with which spark-submit submits to a
// kerberized cluster (Livy's livy.server.launch.kerberos.*).
type LaunchKerberos struct {
	Principal, Keytab string
	Refresh           time.Duration
}

// On reports whether applications are launched with the gateway's Kerberos credentials.
func (k *LaunchKerberos) On() bool { return k.Principal != "" }

func (k *LaunchKerberos) flags(fs *flag.FlagSet) {
	fs.StringVar(&k.Principal, "launch-kerberos-principal", "", "the gateway's own principal (sparkgate/host@REALM), whose ticket spark-submit submits with, impersonating each session's user with --proxy-user on a kerberized cluster")
	fs.StringVar(&k.Keytab, "launch-kerberos-keytab", "", "keytab of --launch-kerberos-principal; kinit reads it into a ticket cache of the gateway's own, in --data-dir")
	fs.DurationVar(&k.Refresh, "launch-kerberos-refresh-interval", time.Hour, "how often a new ticket is obtained from the keytab (shorter than the realm's ticket lifetime)")
}

func (k *LaunchKerberos) validate() []error {
	if (k.Principal == "") != (k.Keytab == "") {
		return []error{errors.New("launch-kerberos-principal and launch-kerberos-keytab go together")}
	}
	if k.Refresh <= 0 {
		return []error{errors.New("launch-kerberos-refresh-interval must be positive")}
	}
	return nil
}
