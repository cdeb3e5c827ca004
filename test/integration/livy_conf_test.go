package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/auth/krbtest"
)

// A production livy.conf, with its spark-blacklist.conf, started as Livy would be: Kerberos
// authentication, access control, impersonation by default, CSRF protection and the blacklist
// all hold, on a real MIT KDC; what has no meaning here is said at start.
func TestLivyConf(t *testing.T) {
	stub := testdata(t, "stubspark")
	kdc := krbtest.Start(t)
	t.Parallel()
	kdc.AddUser(t, "alice", "alice-pw")
	kdc.AddUser(t, "bob", "bob-pw")
	dir := t.TempDir()
	template, err := os.ReadFile(testdata(t, "livy/livy.conf"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(template), "{{KEYTAB}}", kdc.ServiceKeytab(t, krbtest.Service))
	os.WriteFile(filepath.Join(dir, "livy.conf"), []byte(conf), 0o600)
	blacklist, _ := os.ReadFile(testdata(t, "livy/spark-blacklist.conf"))
	os.WriteFile(filepath.Join(dir, "spark-blacklist.conf"), blacklist, 0o600)
	s := startServer(t, serverOpts{sparkHome: stub, env: []string{"LIVY_CONF_DIR=" + dir}})
	_, port, _ := net.SplitHostPort(s.addr)
	base := "http://localhost:" + port // the service principal's name
	curl := func(user string, args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command("curl", append([]string{"-sS", "--negotiate", "-u", ":", "-o", "-", "-w", "\n%{http_code}"}, args...)...)
		cmd.Env = append(os.Environ(), kdc.Kinit(t, user, user+"-pw")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("curl as %s: %v\n%s", user, err, out)
		}
		i := strings.LastIndex(string(out), "\n") // -w puts the status on a line of its own, last
		var status int
		fmt.Sscan(string(out[i+1:]), &status)
		return status, string(out[:i])
	}

	if r := s.do("GET", "/batches", ""); r.status != 401 || r.header.Get("WWW-Authenticate") != "Negotiate" {
		t.Errorf("livy.server.auth.type = kerberos: no ticket gets %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
	if code, body := curl("alice", base+"/batches"); code != 200 {
		t.Errorf("alice, an allowed user: %d %s", code, body)
	}
	if code, body := curl("bob", base+"/batches"); code != 403 {
		t.Errorf("bob, not among livy.server.access-control.allowed-users: %d %s, want 403", code, body)
	}
	job := fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/ok.py"))
	json := []string{"-H", "Content-Type: application/json"}
	if code, body := curl("alice", append(json, "-d", job, base+"/batches")...); code != 400 || !strings.Contains(body, "X-Requested-By") {
		t.Errorf("livy.server.csrf-protection.enabled: a POST without X-Requested-By: %d %s", code, body)
	}
	csrf := append(json, "-H", "X-Requested-By: test")
	if code, body := curl("alice", append(csrf, "-d", job, base+"/batches")...); code != 201 || !strings.Contains(body, `"proxyUser":"alice"`) {
		t.Errorf("livy.impersonation.enabled: alice's batch runs as alice: %d %s", code, body)
	}
	queue := fmt.Sprintf(`{"file":%q,"conf":{"spark.yarn.queue":"root.fast"}}`, testdata(t, "jobs/ok.py"))
	if code, body := curl("alice", append(csrf, "-d", queue, base+"/batches")...); code != 400 || !strings.Contains(body, "spark.yarn.queue") {
		t.Errorf("spark-blacklist.conf's spark.yarn.queue: %d %s, want 400", code, body)
	}
	var out string
	waitFor(t, 5*time.Second, "the notes of livy.conf", func() bool { out = s.output(); return strings.Contains(out, "livy.cache-log.size") })
	for _, note := range []string{"livy.server.thrift.enabled has no meaning", "livy.server.recovery.mode is not needed: recovery is always on",
		"livy.server.recovery.state-store.url is not needed"} {
		if !strings.Contains(out, note) {
			t.Errorf("no warning %q at start", note)
		}
	}
}
