package config

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeLivyConf(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "livy.conf")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Each livy.conf key that has a meaning becomes the setting it names, read as Livy reads it.
func TestLivyConfKeys(t *testing.T) {
	cases := []struct {
		conf  string
		check func(c *Config) bool
	}{
		{"livy.server.host = 127.0.0.2", func(c *Config) bool { return c.Addr == "127.0.0.2:8998" }},
		{"livy.server.port = 9999\nlivy.server.host=127.0.0.1", func(c *Config) bool { return c.Addr == "127.0.0.1:9999" }},
		{"livy.spark.master = local[2]", func(c *Config) bool { return c.SparkMaster == "local[2]" }},
		{"livy.spark.master = spark://m:7077\nlivy.spark.deploy-mode = cluster", func(c *Config) bool { return c.SparkMaster == "spark://m:7077" && c.DeployMode == "cluster" }},
		{"livy.server.spark-home = /opt/spark", func(c *Config) bool { return c.SparkHome == "/opt/spark" }},
		{"livy.file.local-dir-whitelist = /srv/jobs,/srv/lib", func(c *Config) bool { return slices.Equal(c.LocalDirWhitelist, []string{"/srv/jobs", "/srv/lib"}) }},
		{"livy.file.upload.max.size = 104857600", func(c *Config) bool { return c.MaxUploadBytes == 100<<20 }},
		{"livy.server.session.timeout = 30m", func(c *Config) bool { return c.SessionIdleTimeout == 30*time.Minute }},
		{"livy.server.session.timeout = 3600000", func(c *Config) bool { return c.SessionIdleTimeout == time.Hour }}, // milliseconds, as Livy reads a bare number
		{"livy.server.session.timeout-check = false\nlivy.server.session.timeout = 30m", func(c *Config) bool { return c.SessionIdleTimeout == 0 }},
		{"livy.server.session.ttl-check = true", func(c *Config) bool { return c.SessionTTL == 8*time.Hour }},
		{"livy.server.session.ttl-check = true\nlivy.server.session.ttl = 2d", func(c *Config) bool { return c.SessionTTL == 48*time.Hour }},
		{"livy.server.session.ttl = 2h", func(c *Config) bool { return c.SessionTTL == 0 }}, // Livy: no TTL without ttl-check
		{"livy.server.session.state-retain.sec = 600s", func(c *Config) bool { return c.RetainFinished == 10*time.Minute }},
		{"livy.impersonation.enabled = TRUE", func(c *Config) bool { return c.Impersonation }},
		{"livy.server.csrf-protection.enabled = true", func(c *Config) bool { return c.CSRFProtection }},
		{"livy.server.yarn.poll-interval = 5s", func(c *Config) bool { return c.ClusterPollInterval == 5*time.Second }},
		{"livy.server.yarn.app-leakage.check-interval = 60s\nlivy.server.yarn.app-leakage.check-timeout = 600s", func(c *Config) bool {
			return c.LeakCheckInterval == time.Minute && c.LeakCheckGrace == 10*time.Minute
		}},
		{"livy.server.session.allow-custom-classpath = true", func(c *Config) bool { return slices.Contains(c.ConfAllowed, "spark.driver.extraClassPath") }},
		{"livy.server.launch.kerberos.principal = livy/h@R\nlivy.server.launch.kerberos.keytab = /k\nlivy.server.launch.kerberos.refresh-interval = 30m",
			func(c *Config) bool {
				return c.LaunchKerberos.Principal == "livy/h@R" && c.LaunchKerberos.Keytab == "/k" && c.LaunchKerberos.Refresh == 30*time.Minute
			}},
		{"livy.server.host = 127.0.0.1\nlivy.server.auth.type = kerberos\nlivy.server.auth.kerberos.principal = HTTP/h@R\nlivy.server.auth.kerberos.keytab = /k\n" +
			"livy.server.access-control.enabled = true\nlivy.server.access-control.allowed-users = alice,bob\n" +
			"livy.server.access-control.view-users = vera\nlivy.server.access-control.modify-users = mona\nlivy.superusers = root",
			func(c *Config) bool {
				return c.Auth.Type == "kerberos" && c.Auth.KerberosPrincipal == "HTTP/h@R" && c.Auth.KerberosKeytab == "/k" && c.Access.Enabled &&
					slices.Equal(c.Access.AllowedUsers, []string{"alice", "bob"}) && slices.Equal(c.Access.ViewUsers, []string{"vera"}) &&
					slices.Equal(c.Access.ModifyUsers, []string{"mona"}) && slices.Equal(c.Access.Superusers, []string{"root"})
			}},
		{"livy.server.auth.type = ldap\nlivy.server.auth.ldap.url = ldap://d\nlivy.server.auth.ldap.base-dn = ou=people,dc=x\n" +
			"livy.server.auth.ldap.username-domain = x.org\nlivy.server.auth.ldap.enable-start-tls = true\nlivy.server.host = 127.0.0.1",
			func(c *Config) bool {
				return c.Auth.Type == "ldap" && c.Auth.LDAP.URL == "ldap://d" && c.Auth.LDAP.BaseDN == "ou=people,dc=x" &&
					c.Auth.LDAP.Domain == "x.org" && c.Auth.LDAP.StartTLS
			}},
	}
	for _, tc := range cases {
		path := writeLivyConf(t, "# from livy.conf.template\n"+tc.conf+"\n")
		// a Livy host of every interface needs an authentication or --allow-unauthenticated
		c, err := Load([]string{"--livy-conf", path, "--allow-unauthenticated"}, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Errorf("%q: %v", tc.conf, err)
			continue
		}
		if !tc.check(c) {
			t.Errorf("%q did not become its setting: %+v", tc.conf, c)
		}
		if len(c.Notes) != 0 {
			t.Errorf("%q: notes %q", tc.conf, c.Notes)
		}
	}
}

// What livy.conf cannot mean here is said at start, one note a key; a bad value stops the
// start; every other source overrides the file; $LIVY_CONF_DIR is read when present, with its
// spark-blacklist.conf.
func TestLivyConfNotesPrecedenceAndBlacklist(t *testing.T) {
	path := writeLivyConf(t, "livy.server.port = 8999\nlivy.server.host = 127.0.0.1\nlivy.server.thrift.enabled = true\n"+
		"livy.server.recovery.mode = recovery\nlivy.keystore = /etc/livy.jks\nlivy.server.auth.kerberos.name-rules = RULE:[1:$1]\n"+
		"livy.server.auth.kerberos.name-rules2 = x\nlivy.server.session.timeout = 2h\n! a properties comment\nlivy.spark.master local[3]\n")
	os.WriteFile(filepath.Join(filepath.Dir(path), "spark-blacklist.conf"), []byte("# Livy's\nspark.master\nspark.yarn.queue\n"), 0o600)
	env := map[string]string{"LIVY_CONF_DIR": filepath.Dir(path), "SPARKGATE_SESSION_IDLE_TIMEOUT": "3h"}
	c, err := Load([]string{"--spark-master", "local[4]"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8999" || c.SessionIdleTimeout != 3*time.Hour || c.SparkMaster != "local[4]" {
		t.Errorf("livy.conf must yield to the environment and the flags: addr %s, idle %s, master %s", c.Addr, c.SessionIdleTimeout, c.SparkMaster)
	}
	if !slices.Contains(c.ConfBlacklist, "spark.yarn.queue") || !slices.Contains(c.ConfBlacklist, "spark.submit.deployMode") {
		t.Errorf("spark-blacklist.conf adds to the built-in list: %v", c.ConfBlacklist)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{"livy.server.thrift.enabled has no meaning", "livy.server.recovery.mode is not needed: recovery is always on",
		"livy.keystore is not supported", "name-rules = RULE:[1:$1] is not supported", "name-rules2 has no meaning"} {
		if !strings.Contains(notes, want) {
			t.Errorf("no note %q in\n%s", want, notes)
		}
	}
	if len(c.Notes) != 5 {
		t.Errorf("%d notes, want one a key it cannot apply:\n%s", len(c.Notes), notes)
	}
	for conf, want := range map[string]string{
		"livy.server.session.timeout = soon":           "livy.server.session.timeout",
		"livy.server.auth.type = com.example.MyFilter": "custom authentication filters",
		"livy.server.port = http":                      "is not a port",
		"livy.impersonation.enabled = yes":             "is not true or false",
	} {
		if _, err := Load([]string{"--livy-conf", writeLivyConf(t, conf)}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error naming %q", conf, err, want)
		}
	}
}
