package auth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// kerberosClockSkew is the clock difference allowed between client and server (Kerberos'
// usual five minutes).
const kerberosClockSkew = 5 * time.Minute

// KerberosConfig is the service's Kerberos identity.
type KerberosConfig struct {
	// Keytab holds the service principal's keys (Livy's livy.server.auth.kerberos.keytab).
	Keytab string
	// Principal, when set, is the one principal of the keytab tickets must be for
	// (HTTP/host@REALM; Livy's livy.server.auth.kerberos.principal); any of the keytab's
	// otherwise.
	Principal string
}

// Kerberos authenticates SPNEGO (HTTP Negotiate) with Kerberos tickets, as Livy's
// livy.server.auth.type = kerberos does, and answers a client that asks for mutual
// authentication with the AP-REP that proves this server holds the service key (--auth
// kerberos).
type Kerberos struct {
	keytab   *keytab.Keytab
	settings []func(*service.Settings)
	realm    string // the service principal's realm: its users are named without it
}

// NewKerberos loads the keytab of cfg.
func NewKerberos(cfg KerberosConfig) (*Kerberos, error) {
	kt, err := keytab.Load(cfg.Keytab)
	if err != nil {
		return nil, fmt.Errorf("kerberos keytab: %w", err)
	}
	if len(kt.Entries) == 0 {
		return nil, fmt.Errorf("kerberos keytab %s holds no key", cfg.Keytab)
	}
	// MIT KDCs add a PAC to every ticket; gokrb5 reads only Active Directory's, and the
	// user's name is all this server needs of a ticket
	settings := []func(*service.Settings){service.DecodePAC(false), service.MaxClockSkew(kerberosClockSkew)}
	realm := kt.Entries[0].Principal.Realm
	if cfg.Principal != "" {
		name, r, _ := strings.Cut(cfg.Principal, "@")
		found := false
		for _, e := range kt.Entries {
			found = found || (strings.Join(e.Principal.Components, "/") == name && (r == "" || e.Principal.Realm == r))
		}
		if !found {
			return nil, fmt.Errorf("kerberos keytab %s has no key of %s", cfg.Keytab, cfg.Principal)
		}
		if r != "" {
			realm = r
		}
		settings = append(settings, service.KeytabPrincipal(name))
	}
	return &Kerberos{keytab: kt, settings: settings, realm: realm}, nil
}

func (*Kerberos) Name() string      { return "kerberos" }
func (*Kerberos) Challenge() string { return "Negotiate" }

func (k *Kerberos) Authenticate(header http.Header, r *http.Request) (Identity, error) {
	scheme, encoded, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Negotiate") || encoded == "" {
		return Identity{}, ErrNoCredentials
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: the Negotiate token is not base64", ErrBadCredentials)
	}
	token, err := readInitToken(raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrBadCredentials, err)
	}
	settings := service.NewSettings(k.keytab, k.settings...)
	ok, creds, err := service.VerifyAPREQ(&token.krb5.APReq, settings)
	if err != nil || !ok {
		return Identity{}, fmt.Errorf("%w: %v", ErrBadCredentials, err)
	}
	reply, err := token.reply()
	if err != nil {
		return Identity{}, fmt.Errorf("answer the client's request for mutual authentication: %w", err)
	}
	if len(reply) > 0 {
		header.Set("WWW-Authenticate", "Negotiate "+base64.StdEncoding.EncodeToString(reply))
	}
	user := creds.UserName()
	if creds.Domain() != k.realm {
		user += "@" + creds.Domain() // another realm's alice is not this realm's
	}
	return Identity{User: user}, nil
}

// initToken is a client's first Negotiate token: a Kerberos AP-REQ, inside SPNEGO (curl,
// requests-gssapi) or bare (requests-kerberos).
type initToken struct {
	krb5    spnego.KRB5Token
	spnego  bool
	mech    asn1.ObjectIdentifier // the mechanism the client put first
	request []byte                // the KRB5 token's bytes
}

func readInitToken(raw []byte) (*initToken, error) {
	t := &initToken{mech: gssapi.OIDKRB5.OID(), request: raw}
	var neg spnego.SPNEGOToken
	if err := neg.Unmarshal(raw); err == nil {
		if !neg.Init || len(neg.NegTokenInit.MechTypes) == 0 || len(neg.NegTokenInit.MechTokenBytes) == 0 {
			return nil, errors.New("the SPNEGO token carries no Kerberos ticket")
		}
		first := neg.NegTokenInit.MechTypes[0]
		if !first.Equal(gssapi.OIDKRB5.OID()) && !first.Equal(gssapi.OIDMSLegacyKRB5.OID()) {
			return nil, fmt.Errorf("the client prefers mechanism %s, not Kerberos", first)
		}
		t.spnego, t.mech, t.request = true, first, neg.NegTokenInit.MechTokenBytes
	}
	if err := t.krb5.Unmarshal(t.request); err != nil || !t.krb5.IsAPReq() {
		return nil, fmt.Errorf("not a Kerberos AP-REQ: %v", err)
	}
	return t, nil
}

// reply is the token that completes the context: the AP-REP when the client asked for mutual
// authentication, wrapped as the client's token was.
func (t *initToken) reply() ([]byte, error) {
	var mechReply []byte
	if mutualRequested(&t.krb5.APReq) {
		rep, err := apRep(&t.krb5.APReq)
		if err != nil {
			return nil, err
		}
		mechReply = rep
		if !t.spnego {
			return mechReply, nil
		}
	}
	if !t.spnego {
		return nil, nil
	}
	resp := spnego.NegTokenResp{NegState: asn1.Enumerated(0), SupportedMech: t.mech, ResponseToken: mechReply} // accept-completed
	return resp.Marshal()
}
