package kinit

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// SPNEGO is an http.RoundTripper that authenticates every request as the launch principal
// with SPNEGO (Negotiate), as the REST APIs of a kerberized cluster's ResourceManager and
// NodeManagers require. Its Kerberos client logs in from the keytab and renews its own
// ticket; Close stops that.
type SPNEGO struct {
	base   http.RoundTripper
	client *client.Client
}

// NewSPNEGO logs in as principal (user/host@REALM) from keytab, with the realm's settings
// from krb5Conf (KRB5_CONFIG, or /etc/krb5.conf when empty). base carries the requests
// (http.DefaultTransport when nil).
func NewSPNEGO(principal, keytabPath, krb5Conf string, base http.RoundTripper) (*SPNEGO, error) {
	user, realm, ok := strings.Cut(principal, "@")
	if !ok || user == "" || realm == "" {
		return nil, fmt.Errorf("principal %q must be user[/host]@REALM", principal)
	}
	kt, err := keytab.Load(keytabPath)
	if err != nil {
		return nil, fmt.Errorf("read keytab %s: %w", keytabPath, err)
	}
	if krb5Conf == "" {
		krb5Conf = "/etc/krb5.conf"
	}
	conf, err := krbconfig.Load(krb5Conf)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", krb5Conf, err)
	}
	cl := client.NewWithKeytab(user, realm, kt, conf, client.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		return nil, fmt.Errorf("log in as %s from %s: %w", principal, keytabPath, err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &SPNEGO{base: base, client: cl}, nil
}

// RoundTrip sends req with a Negotiate token for the service HTTP/<host of its URL>, at once:
// there is no unauthenticated first round, and a refused token is the answer (no retry loop).
func (s *SPNEGO) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if err := spnego.SetSPNEGOHeader(s.client, r, ""); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("SPNEGO for %s: %w", req.URL.Host, err)
	}
	return s.base.RoundTrip(r)
}

// Close stops the client's ticket renewal.
func (s *SPNEGO) Close() { s.client.Destroy() }
