package integration

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sparkgate/sparkgate/internal/auth/authtest"
	"github.com/sparkgate/sparkgate/internal/auth/krbtest"
	"github.com/sparkgate/sparkgate/internal/auth/ldaptest"
)

// htpasswdFile writes an htpasswd file of users (name → password), hashed as htpasswd -B
// does (bcrypt, cost 5).
func htpasswdFile(t testing.TB, users map[string]string) string {
	return htpasswdFileOf(t, users, 5)
}

// htpasswdFileCost writes an htpasswd file of one user, hashed at cost.
func htpasswdFileCost(t testing.TB, user, password string, cost int) string {
	return htpasswdFileOf(t, map[string]string{user: password}, cost)
}

func htpasswdFileOf(t testing.TB, users map[string]string, cost int) string {
	t.Helper()
	var b strings.Builder
	for user, password := range users {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%s\n", user, hash)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// --auth basic, end to end on real Spark: what an unauthenticated or wrongly authenticated
// request gets, the owner of what a user creates, requestIds scoped per user, the real
// clients (curl -u, the Python livy client, the CLI), and the limit on failed logins.
func TestBasicAuth(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	users := map[string]string{"alice": "wonder land", "bob": "builder"}
	s := startServer(t, serverOpts{sparkHome: home, args: []string{"--auth", "basic", "--htpasswd", htpasswdFile(t, users)}})
	pi := filepath.Join(examplesDir(t), "pi.py")

	t.Run("no credentials", func(t *testing.T) {
		for _, path := range []string{"/batches", "/sessions", "/version", "/batches/0", "/metrics"} {
			r := s.do("GET", path, "")
			if r.status != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), `Basic realm="sparkgate"`) || string(r.body) != "{\"msg\":\"authentication required\"}\n" {
				t.Errorf("GET %s: %d %q %s; want 401 with the Basic challenge", path, r.status, r.header.Get("WWW-Authenticate"), r.body)
			}
		}
		if r := s.do("POST", "/batches", fmt.Sprintf(`{"file":%q}`, pi)); r.status != 401 {
			t.Errorf("POST /batches: %d %s", r.status, r.body)
		}
	})
	t.Run("wrong credentials say nothing of which part is wrong", func(t *testing.T) {
		bodies := map[string]bool{}
		for _, cred := range [][2]string{{"alice", "wonder"}, {"carol", "wonder land"}, {"bob", "wonder land"}} {
			r := s.do("GET", "/batches", "", "Authorization", "Basic "+basicHeader(cred[0], cred[1]))
			if r.status != 401 {
				t.Errorf("%s: %d %s", cred[0], r.status, r.body)
			}
			bodies[string(r.body)] = true
		}
		if len(bodies) != 1 {
			t.Errorf("the answers differ: %v", bodies)
		}
	})
	t.Run("curl -u, and the owner is the user", func(t *testing.T) {
		out, err := exec.Command("curl", "-sS", "-u", "alice:wonder land", "-H", "Content-Type: application/json",
			"-d", fmt.Sprintf(`{"file":%q,"args":["2"]}`, pi), s.url("/batches")).CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"owner":"alice"`) {
			t.Fatalf("curl -u: %v\n%s", err, out)
		}
	})
	t.Run("requestIds are each user's own", func(t *testing.T) {
		body := fmt.Sprintf(`{"file":%q,"args":["1"]}`, pi)
		put := func(user string) (int, string) {
			r := s.do("PUT", "/batches", body, "Requestid", "0f8fad5b-d9cb-469f-a165-70867728950e", "Authorization", "Basic "+basicHeader(user, users[user]))
			if r.status != 201 && r.status != 200 {
				t.Fatalf("PUT as %s: %d %s", user, r.status, r.body)
			}
			v := r.json(t)
			return int(v["id"].(float64)), v["owner"].(string)
		}
		bobs, owner := put("bob")
		alices, aliceOwner := put("alice")
		if alices == bobs || owner != "bob" || aliceOwner != "alice" {
			t.Errorf("bob's PUT made batch %d (owner %s), alice's with his requestId %d (owner %s); want two batches, each its user's", bobs, owner, alices, aliceOwner)
		}
		if again, _ := put("alice"); again != alices {
			t.Errorf("alice's replay gave batch %d, want %d", again, alices)
		}
	})
	t.Run("the Python livy client", func(t *testing.T) {
		python := requiredEnv(t, "PYSPARK_PYTHON", "pylivy")
		out, err := exec.Command(python, "../python/pylivy_auth.py", s.url(""), pi, "basic", "alice", "wonder land", "--session").CombinedOutput()
		if err != nil {
			t.Fatalf("pylivy: %v\n%s", err, out)
		}
	})
	t.Run("sparkmagic's Basic_Access", func(t *testing.T) {
		python := requiredEnv(t, "SPARKGATE_CLIENTS_PYTHON", "sparkmagic (make test sets it)")
		if out, err := exec.Command(python, "../python/sparkmagic_basic.py", s.url(""), "bob", users["bob"]).CombinedOutput(); err != nil {
			t.Fatalf("sparkmagic: %v\n%s", err, out)
		}
	})
	t.Run("the CLI", func(t *testing.T) {
		password := filepath.Join(t.TempDir(), "password")
		os.WriteFile(password, []byte("builder\n"), 0o600)
		out, err := exec.Command(binPath, "submit", "--server", s.url(""), "--user", "bob", "--password-file", password, "--wait", pi, "1").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Pi is roughly") {
			t.Errorf("submit --user: %v\n%s", err, out)
		}
		out, err = exec.Command(binPath, "status", "--server", s.url(""), "0").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "authentication required") {
			t.Errorf("status without credentials: %v\n%s", err, out)
		}
	})
	// last: it locks this test's address out for a while
	t.Run("failed logins are limited per address", func(t *testing.T) {
		for range 10 {
			s.do("GET", "/batches", "", "Authorization", "Basic "+basicHeader("alice", "guess"))
		}
		r := s.do("GET", "/batches", "", "Authorization", "Basic "+basicHeader("alice", users["alice"]))
		if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(r.json(t)["msg"].(string), "too many failed logins") {
			t.Errorf("after 10 failures: %d %s (Retry-After %q); want 429", r.status, r.body, r.header.Get("Retry-After"))
		}
	})
}

func basicHeader(user, password string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, password)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// --auth jwt, end to end on real Spark: a token of a real RSA key, whose JWKS the issuer
// serves on loopback, names the owner; a missing, expired or tampered token is a 401 with
// the Bearer challenge; the Python livy client and the CLI (--token-file) authenticate; a
// rotated signing key is followed without a restart.
func TestJWTAuth(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	iss := authtest.NewIssuer(t)
	s := startServer(t, serverOpts{sparkHome: home, args: []string{"--auth", "jwt", "--jwt-jwks-url", iss.JWKS(),
		"--jwt-issuer", iss.URL, "--jwt-audience", iss.Audience, "--jwt-user-claim", "preferred_username"}})
	pi := filepath.Join(examplesDir(t), "pi.py")
	token := func(user string, change func(map[string]any)) string {
		c := iss.Claims("id-of-" + user)
		c["preferred_username"] = user
		if change != nil {
			change(c)
		}
		return iss.Token(t, c)
	}

	for name, bad := range map[string]string{
		"no token":      "",
		"expired":       "Bearer " + token("alice", func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }),
		"for a service": "Bearer " + token("alice", func(c map[string]any) { c["aud"] = "another-service" }),
		"tampered":      "Bearer " + token("alice", nil) + "x",
	} {
		r := s.do("GET", "/batches", "", "Authorization", bad)
		if r.status != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("%s: %d %q %s; want 401 with the Bearer challenge", name, r.status, r.header.Get("WWW-Authenticate"), r.body)
		}
	}
	r := s.do("POST", "/batches", fmt.Sprintf(`{"file":%q,"args":["1"]}`, pi), "Authorization", "Bearer "+token("alice", nil))
	if r.status != 201 || r.json(t)["owner"] != "alice" {
		t.Fatalf("POST with alice's token: %d %s; want 201 owned by alice", r.status, r.body)
	}
	t.Run("the Python livy client", func(t *testing.T) {
		python := requiredEnv(t, "PYSPARK_PYTHON", "pylivy")
		out, err := exec.Command(python, "../python/pylivy_auth.py", s.url(""), pi, "bearer", token("carol", nil)).CombinedOutput()
		if err != nil {
			t.Fatalf("pylivy: %v\n%s", err, out)
		}
	})
	t.Run("the CLI, after a key rotation", func(t *testing.T) {
		iss.Rotate(t)
		file := filepath.Join(t.TempDir(), "token")
		os.WriteFile(file, []byte(token("dave", nil)+"\n"), 0o600)
		out, err := exec.Command(binPath, "submit", "--server", s.url(""), "--token-file", file, "--wait", pi, "1").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Pi is roughly") {
			t.Errorf("submit --token-file: %v\n%s", err, out)
		}
	})
}

// --auth ldap against a real slapd, end to end on real Spark: search-then-bind over StartTLS
// with the directory's groups, only the analysts let in; curl -u and the Python livy client;
// a directory that stops answering is a 503, never a way in.
func TestLDAPAuth(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	d := ldaptest.Start(t)
	bindPassword := filepath.Join(t.TempDir(), "bind-password")
	os.WriteFile(bindPassword, []byte(ldaptest.BindPassword+"\n"), 0o600)
	s := startServer(t, serverOpts{sparkHome: home, args: []string{"--auth", "ldap", "--ldap-url", d.URL, "--ldap-start-tls",
		"--ldap-ca-file", d.CAFile, "--ldap-base-dn", ldaptest.People, "--ldap-bind-dn", ldaptest.BindDN,
		"--ldap-bind-password-file", bindPassword, "--ldap-group-base-dn", ldaptest.Groups,
		"--ldap-group-filter", "(&(objectClass=groupOfNames)(member=%s))", "--ldap-allowed-groups", "analysts"}})
	pi := filepath.Join(examplesDir(t), "pi.py")

	for name, cred := range map[string][2]string{
		"a wrong password":           {"alice", "alice"},
		"an unknown user":            {"mallory", ldaptest.Users["alice"]},
		"a user of no allowed group": {"bob", ldaptest.Users["bob"]},
	} {
		if r := s.do("GET", "/batches", "", "Authorization", "Basic "+basicHeader(cred[0], cred[1])); r.status != 401 {
			t.Errorf("%s: %d %s; want 401", name, r.status, r.body)
		}
	}
	out, err := exec.Command("curl", "-sS", "-u", "carol:"+ldaptest.Users["carol"], "-H", "Content-Type: application/json",
		"-d", fmt.Sprintf(`{"file":%q,"args":["1"]}`, pi), s.url("/batches")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"owner":"carol"`) {
		t.Fatalf("curl -u carol: %v\n%s", err, out)
	}
	t.Run("the Python livy client", func(t *testing.T) {
		python := requiredEnv(t, "PYSPARK_PYTHON", "pylivy")
		out, err := exec.Command(python, "../python/pylivy_auth.py", s.url(""), pi, "basic", "alice", ldaptest.Users["alice"]).CombinedOutput()
		if err != nil {
			t.Fatalf("pylivy: %v\n%s", err, out)
		}
	})
	t.Run("the directory down", func(t *testing.T) {
		d.Stop()
		// dave was never verified, so nothing remembered lets him in
		r := s.do("GET", "/batches", "", "Authorization", "Basic "+basicHeader("dave", "any"))
		if r.status != 503 {
			t.Errorf("with the directory down: %d %s; want 503", r.status, r.body)
		}
	})
}

// --auth kerberos against a real MIT KDC, end to end on real Spark: curl --negotiate, then
// the Python Kerberos clients (requests-kerberos, requests-gssapi, pylivy and sparkmagic),
// each requiring mutual authentication; the user's principal is the owner.
func TestKerberosAuth(t *testing.T) {
	home := sparkHome(t)
	python := requiredEnv(t, "SPARKGATE_CLIENTS_PYTHON", "Python Kerberos clients (make test sets it)")
	t.Parallel()
	kdc := krbtest.Start(t)
	kdc.AddUser(t, "alice", "alice-in-Kerberos")
	keytab := kdc.ServiceKeytab(t, krbtest.Service)
	s := startServer(t, serverOpts{sparkHome: home, args: []string{"--auth", "kerberos", "--kerberos-keytab", keytab,
		"--kerberos-principal", krbtest.Service + "@" + krbtest.Realm}})
	_, port, _ := net.SplitHostPort(s.addr)
	base := "http://localhost:" + port // the name of the service principal, HTTP/localhost
	env := append(os.Environ(), kdc.Kinit(t, "alice", "alice-in-Kerberos")...)
	pi := filepath.Join(examplesDir(t), "pi.py")

	if r := s.do("GET", "/batches", ""); r.status != 401 || r.header.Get("WWW-Authenticate") != "Negotiate" {
		t.Errorf("no ticket: %d %q; want 401 Negotiate", r.status, r.header.Get("WWW-Authenticate"))
	}
	curl := exec.Command("curl", "-sS", "--negotiate", "-u", ":", "-H", "Content-Type: application/json",
		"-d", fmt.Sprintf(`{"file":%q,"args":["1"]}`, pi), base+"/batches")
	curl.Env = env
	if out, err := curl.CombinedOutput(); err != nil || !strings.Contains(string(out), `"owner":"alice"`) {
		t.Fatalf("curl --negotiate: %v\n%s", err, out)
	}
	clients := exec.Command(python, "../python/kerberos_clients.py", base, pi, "alice")
	clients.Env = env
	if out, err := clients.CombinedOutput(); err != nil {
		t.Fatalf("Python Kerberos clients: %v\n%s", err, out)
	}
}
