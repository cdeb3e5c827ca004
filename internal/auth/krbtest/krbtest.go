// Package krbtest runs a throwaway MIT Kerberos realm for the tests: Debian's krb5kdc on a
// loopback port, its database made by kdb5_util, principals and the service keytab made by
// kadmin.local, and users' tickets got by kinit — the tools a real realm is run with.
package krbtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Realm is the test realm; Service the principal of an HTTP service on localhost.
const (
	Realm   = "SPARKGATE.TEST"
	Service = "HTTP/localhost"
)

// KDC is a running realm.
type KDC struct {
	dir string
	// Config is the krb5.conf that clients of the realm use (KRB5_CONFIG).
	Config string
	env    []string
}

// Start makes the realm and runs its KDC until the test ends. Without MIT's KDC the test is
// skipped, unless SPARKGATE_REQUIRE_KERBEROS is set (as make test does), where it fails.
func Start(t testing.TB) *KDC {
	t.Helper()
	for _, tool := range []string{"krb5kdc", "kdb5_util", "kadmin.local", "kinit"} {
		if _, err := lookPath(tool); err != nil {
			if os.Getenv("SPARKGATE_REQUIRE_KERBEROS") != "" {
				t.Fatalf("%s is not installed (Debian's krb5-kdc, krb5-admin-server, krb5-user); make test installs them", tool)
			}
			t.Skipf("%s is not installed: Kerberos test skipped (make test installs it)", tool)
		}
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	k := &KDC{dir: dir, Config: filepath.Join(dir, "krb5.conf")}
	write(t, k.Config, fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	udp_preference_limit = 1
	ticket_lifetime = 1h
[realms]
	%[1]s = {
		kdc = %[2]s
	}
[domain_realm]
	localhost = %[1]s
`, Realm, addr))
	kdcConf := filepath.Join(dir, "kdc.conf")
	write(t, kdcConf, fmt.Sprintf(`[kdcdefaults]
	kdc_listen = %[2]s
	kdc_tcp_listen = %[2]s
[realms]
	%[1]s = {
		database_name = %[3]s/principal
		key_stash_file = %[3]s/stash
		acl_file = %[3]s/kadm5.acl
		kdc_listen = %[2]s
		kdc_tcp_listen = %[2]s
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:%[3]s/kdc.log
`, Realm, addr, dir))
	write(t, filepath.Join(dir, "kadm5.acl"), "")
	k.env = append(os.Environ(), "KRB5_CONFIG="+k.Config, "KRB5_KDC_PROFILE="+kdcConf)
	k.run(t, "", "kdb5_util", "create", "-s", "-r", Realm, "-P", "master-key-of-the-tests")
	kdc, _ := lookPath("krb5kdc")
	cmd := exec.Command(kdc, "-n", "-P", filepath.Join(dir, "kdc.pid"))
	cmd.Env = k.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "kdc.log"))
			t.Fatalf("krb5kdc does not listen on %s:\n%s\n%s", addr, out.String(), log)
		}
	}
	return k
}

// AddUser creates the principal user with password (no spaces: kadmin's query splits there).
func (k *KDC) AddUser(t testing.TB, user, password string) {
	t.Helper()
	if strings.ContainsAny(password+user, " \t\"") {
		t.Fatalf("krbtest: user %q or password with a space or quote", user)
	}
	k.run(t, "", "kadmin.local", "-q", fmt.Sprintf("addprinc -pw %s %s", password, user))
}

// ServiceKeytab creates the service principal (Service@Realm when empty) and writes its keys
// into a keytab, as an operator does with kadmin's ktadd.
func (k *KDC) ServiceKeytab(t testing.TB, principal string) string {
	t.Helper()
	if principal == "" {
		principal = Service
	}
	path := filepath.Join(k.dir, strings.NewReplacer("/", "_", "@", "_").Replace(principal)+".keytab")
	k.run(t, "", "kadmin.local", "-q", "addprinc -randkey "+principal)
	k.run(t, "", "kadmin.local", "-q", fmt.Sprintf("ktadd -k %s %s", path, principal))
	return path
}

// Kinit gets user's ticket-granting ticket into a cache of its own and returns the
// environment a client of the realm runs with (KRB5_CONFIG, KRB5CCNAME).
func (k *KDC) Kinit(t testing.TB, user, password string) []string {
	t.Helper()
	cache := filepath.Join(t.TempDir(), "ccache")
	env := []string{"KRB5_CONFIG=" + k.Config, "KRB5CCNAME=FILE:" + cache}
	k.runEnv(t, append(os.Environ(), env...), password+"\n", "kinit", user)
	return env
}

func (k *KDC) run(t testing.TB, stdin string, tool string, args ...string) {
	k.runEnv(t, k.env, stdin, tool, args...)
}

func (k *KDC) runEnv(t testing.TB, env []string, stdin string, tool string, args ...string) {
	t.Helper()
	path, err := lookPath(tool)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
}

// lookPath finds a tool on PATH or in /usr/sbin, where Debian puts the KDC's.
func lookPath(tool string) (string, error) {
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", tool)
	_, err := os.Stat(p)
	return p, err
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
