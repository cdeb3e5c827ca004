// Package ldaptest runs a throwaway OpenLDAP directory for the tests: Debian's slapd on
// loopback (ldap:// with StartTLS, and ldaps://, under a certificate of its own), with
// users, groups and a service account for search-then-bind.
package ldaptest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/sparkgate/sparkgate/internal/tlsfiles/tlstest"
)

// Suffix is the directory's root; users live under People, groups under Groups.
const (
	Suffix = "dc=sparkgate,dc=test"
	People = "ou=people," + Suffix
	Groups = "ou=groups," + Suffix
	// BindDN and BindPassword are the service account's.
	BindDN       = "cn=gateway," + Suffix
	BindPassword = "gateway-secret"
	rootDN       = "cn=admin," + Suffix
	rootPassword = "admin-secret"
)

// Users are the directory's users and their passwords; Members the groups' members.
var (
	Users   = map[string]string{"alice": "alice in LDAP", "bob": "bob in LDAP", "carol": "carol in LDAP"}
	Members = map[string][]string{"analysts": {"alice", "carol"}, "admins": {"bob"}}
)

// Directory is a running slapd.
type Directory struct {
	URL, TLSURL string // ldap:// (StartTLS offered) and ldaps://
	CAFile      string // the certificate slapd serves, which is its own CA
	cmd         *exec.Cmd
}

// Stop ends slapd (a directory that went down).
func (d *Directory) Stop() {
	d.cmd.Process.Kill()
	d.cmd.Wait()
}

// Start runs slapd until the test ends. Without slapd the test is skipped, unless
// SPARKGATE_REQUIRE_LDAP is set (as make test does), where it fails.
func Start(t testing.TB) *Directory {
	t.Helper()
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		slapd = "/usr/sbin/slapd"
		if _, err := os.Stat(slapd); err != nil {
			if os.Getenv("SPARKGATE_REQUIRE_LDAP") != "" {
				t.Fatal("slapd is not installed (Debian's slapd package); make test installs it")
			}
			t.Skip("slapd is not installed: LDAP test skipped (make test installs it)")
		}
	}
	dir := t.TempDir()
	d := &Directory{CAFile: filepath.Join(dir, "cert.pem")}
	key := filepath.Join(dir, "key.pem")
	if _, err := tlstest.WriteSelfSigned(d.CAFile, key); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[1]s/slapd.pid
TLSCertificateFile %[2]s
TLSCertificateKeyFile %[3]s
database mdb
maxsize 10485760
suffix "%[4]s"
rootdn "%[5]s"
rootpw %[6]s
directory %[1]s/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
`, dir, d.CAFile, key, Suffix, rootDN, rootPassword)), 0o600)
	plain, secure := freePort(t), freePort(t)
	d.URL, d.TLSURL = "ldap://"+plain, "ldaps://"+secure
	var out bytes.Buffer
	cmd := exec.Command(slapd, "-d", "0", "-f", conf, "-h", d.URL+"/ "+d.TLSURL+"/")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.cmd = cmd
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var conn *ldap.Conn
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if conn, err = ldap.DialURL(d.URL); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slapd does not answer on %s: %v\n%s", d.URL, err, out.String())
		}
	}
	defer conn.Close()
	if err := conn.Bind(rootDN, rootPassword); err != nil {
		t.Fatal(err)
	}
	populate(t, conn)
	return d
}

func populate(t testing.TB, conn *ldap.Conn) {
	t.Helper()
	add := func(dn string, attrs map[string][]string) {
		req := ldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			req.Attribute(k, v)
		}
		if err := conn.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	setPassword := func(dn, password string) {
		if _, err := conn.PasswordModify(ldap.NewPasswordModifyRequest(dn, "", password)); err != nil {
			t.Fatalf("password of %s: %v", dn, err)
		}
	}
	add(Suffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "o": {"sparkgate tests"}, "dc": {"sparkgate"}})
	add(People, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	add(Groups, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	add(BindDN, map[string][]string{"objectClass": {"organizationalRole", "simpleSecurityObject"}, "cn": {"gateway"}, "userPassword": {"x"}})
	setPassword(BindDN, BindPassword)
	for user, password := range Users {
		dn := "uid=" + user + "," + People
		add(dn, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {user}, "cn": {user}, "sn": {user}})
		setPassword(dn, password)
	}
	for group, members := range Members {
		var dns []string
		for _, m := range members {
			dns = append(dns, "uid="+m+","+People)
		}
		add("cn="+group+","+Groups, map[string][]string{"objectClass": {"groupOfNames"}, "cn": {group}, "member": dns})
	}
}

func freePort(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
