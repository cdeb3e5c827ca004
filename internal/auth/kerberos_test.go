package auth_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/auth/authtest"
	"github.com/sparkgate/sparkgate/internal/auth/krbtest"
)

// krbClient is a Kerberos client of the test realm, logged in as user.
func krbClient(t *testing.T, kdc *krbtest.KDC, user, password string) *client.Client {
	t.Helper()
	cfg, err := config.Load(kdc.Config)
	if err != nil {
		t.Fatal(err)
	}
	cl := client.NewWithPassword(user, krbtest.Realm, password, cfg, client.DisablePAFXFAST(true))
	if err := cl.Login(); err != nil {
		t.Fatal(err)
	}
	return cl
}

// negotiate makes a fresh SPNEGO token of cl for spn (each AP-REQ is good once), asking for
// mutual authentication; it returns the ticket's session key too.
func negotiate(t *testing.T, cl *client.Client, spn string) (string, types.EncryptionKey) {
	t.Helper()
	tkt, key, err := cl.GetServiceTicket(spn)
	if err != nil {
		t.Fatal(err)
	}
	krb5, err := spnego.NewKRB5TokenAPREQ(cl, tkt, key, []int{gssapi.ContextFlagInteg, gssapi.ContextFlagMutual}, []int{flags.APOptionMutualRequired})
	if err != nil {
		t.Fatal(err)
	}
	mech, err := krb5.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok := spnego.SPNEGOToken{Init: true, NegTokenInit: spnego.NegTokenInit{MechTypes: []asn1.ObjectIdentifier{gssapi.OIDKRB5.OID()}, MechTokenBytes: mech}}
	b, err := tok.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return "Negotiate " + base64.StdEncoding.EncodeToString(b), key
}

func TestKerberosConformance(t *testing.T) {
	kdc := krbtest.Start(t)
	kdc.AddUser(t, "alice", "alice-in-Kerberos")
	keytab := kdc.ServiceKeytab(t, "")
	kdc.ServiceKeytab(t, "HTTP/elsewhere") // a service whose key the gateway does not hold
	k, err := auth.NewKerberos(auth.KerberosConfig{Keytab: keytab, Principal: krbtest.Service + "@" + krbtest.Realm})
	if err != nil {
		t.Fatal(err)
	}
	alice := krbClient(t, kdc, "alice", "alice-in-Kerberos")
	header := func(h string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", h) }
	}
	used, _ := negotiate(t, alice, krbtest.Service)
	r, _ := http.NewRequest("GET", "/", nil)
	header(used)(r)
	if _, err := k.Authenticate(http.Header{}, r); err != nil {
		t.Fatal(err)
	}
	other, _ := negotiate(t, alice, "HTTP/elsewhere")
	authtest.Run(t, authtest.Subject{Auth: k, User: "alice",
		Good: func(r *http.Request) { h, _ := negotiate(t, alice, krbtest.Service); header(h)(r) },
		Bad: map[string]func(*http.Request){
			"a replayed token":             header(used),
			"a ticket for another service": header(other),
			"not base64":                   header("Negotiate %%%"),
			"an NTLM token":                header("Negotiate TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw=="),
			"a truncated token":            header(used[:len(used)/2]),
		},
		Foreign: basic("alice", "x"),
	})
}

// A client that requires mutual authentication gets the AP-REP: its own timestamp, encrypted
// in the ticket's session key, which proves the server holds the service's key.
func TestKerberosAnswersMutualAuthentication(t *testing.T) {
	kdc := krbtest.Start(t)
	kdc.AddUser(t, "bob", "bob-in-Kerberos")
	k, err := auth.NewKerberos(auth.KerberosConfig{Keytab: kdc.ServiceKeytab(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	token, key := negotiate(t, krbClient(t, kdc, "bob", "bob-in-Kerberos"), krbtest.Service)
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", token)
	answer := http.Header{}
	if id, err := k.Authenticate(answer, r); err != nil || id.User != "bob" {
		t.Fatalf("= %+v, %v", id, err)
	}
	encoded, ok := strings.CutPrefix(answer.Get("WWW-Authenticate"), "Negotiate ")
	if !ok {
		t.Fatalf("WWW-Authenticate %q, want a Negotiate token", answer.Get("WWW-Authenticate"))
	}
	b, _ := base64.StdEncoding.DecodeString(encoded)
	var resp spnego.SPNEGOToken
	if err := resp.Unmarshal(b); err != nil || !resp.Resp || resp.NegTokenResp.State() != spnego.NegStateAcceptCompleted {
		t.Fatalf("answer %x: %v; want an accept-completed NegTokenResp", b, err)
	}
	var mech spnego.KRB5Token
	if err := mech.Unmarshal(resp.NegTokenResp.ResponseToken); err != nil || !mech.IsAPRep() {
		t.Fatalf("response token: %v; want a KRB5 AP-REP", err)
	}
	plain, err := crypto.DecryptEncPart(mech.APRep.EncPart, key, keyusage.AP_REP_ENCPART)
	if err != nil {
		t.Fatalf("the AP-REP does not decrypt in the session key: %v", err)
	}
	var part messages.EncAPRepPart
	if err := part.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	if since := time.Since(part.CTime); since < -time.Minute || since > time.Minute {
		t.Errorf("the AP-REP's ctime %s is not the authenticator's (now)", part.CTime)
	}
}
