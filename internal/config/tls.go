package config

import (
	"errors"
	"flag"
)

// TLS is how the API is served over TLS.
type TLS struct {
	// Cert and Key are the PEM files of the server's certificate, re-read when they change.
	Cert, Key string
	// CAFile holds the CAs that the drivers and the peer instances trust for this server's
	// certificate (the system's when empty).
	CAFile string
}

// On reports whether the API is served over TLS.
func (t *TLS) On() bool { return t.Cert != "" }

func (t *TLS) flags(fs *flag.FlagSet) {
	fs.StringVar(&t.Cert, "tls-cert", "", "PEM certificate (chain) to serve the API over TLS with; re-read when it changes, so it rotates without a restart")
	fs.StringVar(&t.Key, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&t.CAFile, "tls-ca-file", "", "PEM CAs that session drivers and peer instances trust for this server's certificate (default: the system's)")
}

func (t *TLS) validate() []error {
	if (t.Cert == "") != (t.Key == "") {
		return []error{errors.New("tls-cert and tls-key go together")}
	}
	if t.CAFile != "" && !t.On() {
		return []error{errors.New("tls-ca-file is for a server with --tls-cert")}
	}
	return nil
}
