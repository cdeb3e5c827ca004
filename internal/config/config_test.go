package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrecedenceDefaultsFileEnvFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sparkgate.conf")
	os.WriteFile(file, []byte("# comment\naddr = 0.0.0.0:1\nallow-unauthenticated = true\ndata-dir = /file\nretain-finished = 2h\nlocal-dir-whitelist = /a, /b\n"), 0o600)
	env := map[string]string{"SPARKGATE_DATA_DIR": "/env", "SPARKGATE_RETAIN_FINISHED": "3h"}
	c, err := Load([]string{"--config", file, "--retain-finished", "4h"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:1" || c.DataDir != "/env" || c.RetainFinished != 4*time.Hour ||
		strings.Join(c.LocalDirWhitelist, "|") != "/a|/b" || c.SparkMaster != "local[*]" {
		t.Errorf("config = %+v", c)
	}
}

func TestInvalidSettingsSayWhat(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--max-concurrent-launches", "0"}, nil, "max-concurrent-launches must be at least 1"},
		{[]string{"--log-format", "xml"}, nil, "log-format must be text or json"},
		{[]string{"--retain-finished", "-1s"}, nil, "retain-finished must be positive"},
		{nil, map[string]string{"SPARKGATE_KILL_GRACE": "soon"}, "SPARKGATE_KILL_GRACE"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{[]string{"--spark-deploy-mode", "both"}, nil, "client or cluster"},
		{[]string{"--spark-master", "spark:/host:7077"}, nil, `spark-master "spark:/host:7077" is not a master`},
		{[]string{"--spark-master", "mesos://host:5050"}, nil, "is not a master sparkgate can submit to"},
		{[]string{"--spark-master", "local[0]"}, nil, "is not a master"},
		{[]string{"--spark-master", ""}, nil, "is not a master"},
		{[]string{"--spark-master", "yarn"}, nil, "spark-master yarn: where is the ResourceManager? no YARN_CONF_DIR or HADOOP_CONF_DIR"},
		{[]string{"--spark-master", "yarn"}, map[string]string{"HADOOP_CONF_DIR": "/nonexistent"}, "no yarn-site.xml in /nonexistent/yarn-site.xml"},
		{[]string{"--spark-master", "yarn", "--yarn-rm-url", "rm:8088"}, nil, "yarn-rm-url must be an http:// or https:// address"},
		{[]string{"--cluster-poll-interval", "0s"}, nil, "cluster-poll-interval must be positive"},
		{[]string{"--cluster-tag", "Prod Gateway"}, nil, "cluster-tag must be 1 to 64 of a-z"},
		{[]string{"--leak-check-grace", "0s"}, nil, "leak-check-grace must be positive"},
		{[]string{"--standalone-rest-url", "m:6066"}, nil, "must be http:// or https:// addresses"},
		{[]string{"--cluster-submit-wait", "0s"}, nil, "cluster-submit-wait must be positive"},
		{[]string{"--addr", ":8998"}, nil, "auth none on :8998 would let anyone who reaches it run code"},
		{[]string{"--addr", "10.0.0.1:8998"}, nil, "give --allow-unauthenticated"},
		{[]string{"--auth", "kerberoz"}, nil, `auth must be`},
		{[]string{"--auth", "basic"}, nil, "auth basic needs --htpasswd"},
		{[]string{"--auth", "jwt", "--jwt-jwks-url", "https://idp/jwks"}, nil, "auth jwt needs --jwt-jwks-url, --jwt-issuer and --jwt-audience"},
		{[]string{"--auth", "ldap", "--ldap-base-dn", "ou=people,dc=x"}, nil, "auth ldap needs --ldap-url"},
		{[]string{"--auth", "ldap", "--ldap-url", "ldap://d"}, nil, "auth ldap needs --ldap-base-dn"},
		{[]string{"--auth", "ldap", "--ldap-url", "ldap://d", "--ldap-base-dn", "dc=x", "--ldap-bind-dn", "cn=g"}, nil, "go together"},
		{[]string{"--auth", "kerberos"}, nil, "auth kerberos needs --kerberos-keytab"},
		{[]string{"--access-control"}, nil, "access-control needs an --auth other than none"},
		{[]string{"--app-user", "root"}, nil, "app-user must not be root"},
		{[]string{"--app-user", "apps", "--launch-kerberos-principal", "gw@R", "--launch-kerberos-keytab", "/k"}, nil, "app-user does not go with launch-kerberos-principal"},
		{[]string{"--impersonation-rules", "alice"}, nil, "must be user=target|target"},
		{[]string{"--impersonation-rules", "*=bob"}, nil, "must be user=target|target"},
		{[]string{"--tls-cert", "/c.pem"}, nil, "tls-cert and tls-key go together"},
		{[]string{"--tls-ca-file", "/ca.pem"}, nil, "tls-ca-file is for a server with --tls-cert"},
		{[]string{"--auth-cache-ttl", "-1s"}, nil, "auth-cache-ttl must not be negative"},
	}
	for _, c := range cases {
		_, err := Load(c.args, func(k string) string { return c.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%v, %v) error = %v, want %q", c.args, c.env, err, c.want)
		}
	}
}

func TestMastersSparkSubmitTakesAreAccepted(t *testing.T) {
	for _, master := range []string{"local", "local[*]", "local[4]", "local[2,3]", "local-cluster[2,1,1024]",
		"spark://127.0.0.1:7077", "spark://a:7077,b:7077", "yarn", "k8s://https://kubernetes.default.svc:443"} {
		if _, err := Load([]string{"--spark-master", master, "--yarn-rm-url", "http://rm:8088"}, func(string) string { return "" }, io.Discard); err != nil {
			t.Errorf("--spark-master %s: %v", master, err)
		}
	}
}

func TestStandaloneClusterModeFindsTheMastersRESTAndWebAddresses(t *testing.T) {
	load := func(args ...string) *Config {
		c, err := Load(args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := load("--spark-master", "spark://m1:7077,m2:7077", "--spark-deploy-mode", "cluster")
	if len(c.StandaloneRESTURLs) != 0 || strings.Join(c.StandaloneWebURLs, ",") != "http://m1:8080,http://m2:8080" {
		t.Errorf("derived: %v %v; want no REST server (spark-submit's RPC) and Spark's default web port on each master host", c.StandaloneRESTURLs, c.StandaloneWebURLs)
	}
	c = load("--spark-master", "spark://m1:7077", "--spark-deploy-mode", "cluster", "--standalone-rest-url", "http://lb:16066")
	if strings.Join(c.StandaloneRESTURLs, ",") != "http://lb:16066" || strings.Join(c.StandaloneWebURLs, ",") != "http://m1:8080" {
		t.Errorf("given: %v %v", c.StandaloneRESTURLs, c.StandaloneWebURLs)
	}
}

func TestUnknownFileKeyIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.conf")
	os.WriteFile(file, []byte("adr = x\n"), 0o600)
	_, err := Load([]string{"--config", file}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `unknown setting "adr"`) {
		t.Errorf("error = %v", err)
	}
}

// Unauthenticated serving is for loopback, or for an operator who says so.
func TestAuthNoneOnlyOnLoopbackUnlessAllowed(t *testing.T) {
	for _, args := range [][]string{
		{"--addr", "127.0.0.1:8998"}, {"--addr", "[::1]:8998"}, {"--addr", "localhost:8998"},
		{"--addr", "0.0.0.0:8998", "--allow-unauthenticated"},
		{"--addr", "0.0.0.0:8998", "--auth", "basic", "--htpasswd", "/etc/sparkgate/htpasswd"},
		{"--addr", "0.0.0.0:8998", "--auth", "BASIC", "--htpasswd", "/etc/sparkgate/htpasswd"},
	} {
		if _, err := Load(args, func(string) string { return "" }, io.Discard); err != nil {
			t.Errorf("%v: %v", args, err)
		}
	}
}
