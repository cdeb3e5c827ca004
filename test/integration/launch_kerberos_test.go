package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/auth/krbtest"
)

// Under Kerberos the gateway submits with its own keytab and impersonates the session's user:
// spark-submit, on a Hadoop configuration that requires Kerberos, logs in from the gateway's
// ticket cache (kept by kinit from --launch-kerberos-keytab) and runs the application as the
// user by --proxy-user, on a real MIT KDC and real Spark. A launch keytab that does not hold
// the principal's keys stops the start.
func TestLaunchUnderKerberos(t *testing.T) {
	home := sparkHome(t)
	kdc := krbtest.Start(t)
	t.Parallel()
	principal := "sparkgate/localhost@" + krbtest.Realm
	keytab := kdc.ServiceKeytab(t, principal)
	hadoopConf := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(hadoopConf, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("core-site.xml", `<configuration>
  <property><name>hadoop.security.authentication</name><value>kerberos</value></property>
</configuration>`)
	env := []string{"KRB5_CONFIG=" + kdc.Config, "HADOOP_CONF_DIR=" + hadoopConf,
		"SPARK_SUBMIT_OPTS=-Djava.security.krb5.conf=" + kdc.Config}
	args := []string{"--auth", "basic", "--htpasswd", htpasswdFile(t, map[string]string{"alice": "alice-pw"}),
		"--impersonation", "--launch-kerberos-principal", principal, "--launch-kerberos-keytab", keytab}
	s := startServer(t, serverOpts{sparkHome: home, env: env, args: args})
	s.authorize = func(r *http.Request) { r.SetBasicAuth("alice", "alice-pw") }

	r := s.do("POST", "/batches", fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/whoami.py")))
	if r.status != 201 || r.json(t)["proxyUser"] != "alice" {
		t.Fatalf("alice's batch: %d %s", r.status, r.body)
	}
	id := int(r.json(t)["id"].(float64))
	if got := s.waitState(id, sparkTimeout, "success", "dead"); got != "success" {
		t.Fatalf("batch ended %s\n%s", got, strings.Join(s.allLog(id, 2000), "\n"))
	}
	want := "hadoop user: alice (auth:PROXY) via " + principal + " (auth:KERBEROS)"
	if log := strings.Join(s.allLog(id, 2000), "\n"); !strings.Contains(log, want) {
		t.Errorf("the driver does not act as alice through the gateway's Kerberos login; want %q in\n%s", want, log)
	}

	wrong := kdc.ServiceKeytab(t, "other/localhost@"+krbtest.Realm)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, append([]string{"serve", "--addr", freeAddr(t), "--data-dir", t.TempDir(),
		"--spark-home", home}, append(args[:len(args)-1], wrong)...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "kinit -k -t") {
		t.Errorf("a launch keytab without the principal's keys: %v\n%s", err, out)
	}
}
