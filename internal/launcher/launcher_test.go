package launcher

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/errkind"
)

func newTestLauncher(t testing.TB, master string) (*Launcher, string, string) {
	t.Helper()
	root := t.TempDir()
	allowed := filepath.Join(root, "allowed")
	secret := filepath.Join(root, "secret")
	for _, d := range []string{allowed, secret} {
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "job.py"), []byte("print(1)"), 0o644)
	}
	os.Symlink(secret, filepath.Join(allowed, "link"))
	l, err := New(Config{SparkHome: "/spark", Master: master, LocalDirWhitelist: []string{allowed},
		AppsDir: filepath.Join(root, "apps"), SupervisorCmd: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	return l, allowed, secret
}

func TestCommandRefusesWhatPolicyForbids(t *testing.T) {
	l, allowed, secret := newTestLauncher(t, "local[*]")
	cases := []struct {
		name string
		spec Spec
		want string // part of the message
	}{
		{"relative path", Spec{File: "job.py"}, "is not absolute"},
		{"dot-dot escape", Spec{File: allowed + "/../secret/job.py"}, "cannot be added"},
		{"symlink escape", Spec{File: allowed + "/link/job.py"}, "cannot be added"},
		{"outside", Spec{File: secret + "/job.py"}, "cannot be added"},
		{"file URI outside", Spec{File: "file://" + secret + "/job.py"}, "cannot be added"},
		{"local URI outside", Spec{File: "local:" + secret + "/job.py"}, "cannot be added"},
		{"jar outside", Spec{File: allowed + "/job.py", Jars: []string{secret + "/x.jar"}}, "cannot be added"},
		{"conf file list outside", Spec{File: allowed + "/job.py", Conf: map[string]string{"spark.files": allowed + "/job.py," + secret + "/job.py"}}, "cannot be added"},
		{"blacklisted master", Spec{File: allowed + "/job.py", Conf: map[string]string{"spark.master": "yarn"}}, "Blacklisted configuration values in session config: spark.master"},
		{"own tag", Spec{File: allowed + "/job.py", Conf: map[string]string{"spark.sparkgate.tag": "x"}}, "Blacklisted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := l.Command(&c.spec, "sparkgate-batch-1-ab")
			if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Command error = %v, want a client error containing %q", err, c.want)
			}
		})
	}
}

func TestEmptyWhitelistSaysHowToAllow(t *testing.T) {
	l, err := New(Config{AppsDir: t.TempDir(), SupervisorCmd: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Command(&Spec{File: "/tmp/job.py"}, "t")
	if err == nil || !strings.Contains(err.Error(), "--local-dir-whitelist") {
		t.Fatalf("error = %v, want a hint at --local-dir-whitelist", err)
	}
}

func TestCommandMapsEveryField(t *testing.T) {
	l, allowed, _ := newTestLauncher(t, "yarn")
	two, three := 2, 3
	argv, err := l.Command(&Spec{
		File: allowed + "/job.py", ClassName: "org.x.Main", Args: []string{"--input", "a b"},
		Jars: []string{"hdfs:///lib/a.jar"}, PyFiles: []string{allowed + "/job.py"}, Files: []string{"s3a://b/f"},
		Archives: []string{"hdfs:///z.zip"}, DriverMemory: "1g", DriverCores: &two, ExecutorMemory: "2g",
		ExecutorCores: &three, NumExecutors: &two, Queue: "etl", Name: "--class=evil", ProxyUser: "bob",
		Conf: map[string]string{"spark.jars": "hdfs:///lib/b.jar", "spark.driver.memory": "8g", "spark.yarn.tags": "mine"},
	}, "sparkgate-batch-7-ab")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/spark/bin/spark-submit", "--master=yarn", "--name=--class=evil", "--class=org.x.Main",
		"--conf=spark.driver.cores=2", "--conf=spark.driver.memory=1g", "--conf=spark.executor.cores=3",
		"--conf=spark.executor.instances=2", "--conf=spark.executor.memory=2g", "--conf=spark.files=s3a://b/f",
		"--conf=spark.jars=hdfs:///lib/a.jar,hdfs:///lib/b.jar", "--conf=spark.sparkgate.tag=sparkgate-batch-7-ab",
		"--conf=spark.yarn.dist.archives=hdfs:///z.zip", "--conf=spark.yarn.tags=sparkgate,sparkgate-batch-7-ab,mine",
		"--py-files=" + allowed + "/job.py", "--queue=etl", allowed + "/job.py", "--input", "a b"}
	if !slices.Equal(argv, want) {
		t.Errorf("argv =\n%q\nwant\n%q", argv, want)
	}
	if slices.Contains(argv, "--proxy-user=bob") {
		t.Errorf("proxyUser became a flag with impersonation off")
	}
}

// On YARN a submission keeps trying to reach the RM for the gateway's submit wait, unless the
// user's conf says otherwise.
func TestYarnSubmissionsWaitForTheResourceManager(t *testing.T) {
	root := t.TempDir()
	l, err := New(Config{Master: "yarn", SubmitWait: 90 * time.Second, AppsDir: root, SupervisorCmd: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	for conf, want := range map[string]string{"": "90000", "60000": "60000"} {
		spec := &Spec{File: "hdfs:///job.py", Conf: map[string]string{}}
		if conf != "" {
			spec.Conf[yarnConnectWait] = conf
		}
		argv, err := l.Command(spec, "sparkgate-batch-1-a")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(argv, "--conf="+yarnConnectWait+"="+want) {
			t.Errorf("conf %q: argv %q lacks the wait %s", conf, argv, want)
		}
	}
}

func TestVolumeIsSharedByTheDirectory(t *testing.T) {
	dir := t.TempDir()
	a, _ := New(Config{AppsDir: dir, SupervisorCmd: []string{"x"}})
	b, _ := New(Config{AppsDir: dir, SupervisorCmd: []string{"x"}})
	other, _ := New(Config{AppsDir: t.TempDir(), SupervisorCmd: []string{"x"}})
	va, err := a.Volume()
	if err != nil || va == "" {
		t.Fatalf("Volume = %q, %v", va, err)
	}
	if vb, _ := b.Volume(); vb != va {
		t.Errorf("two launchers on one directory see volumes %q and %q", va, vb)
	}
	if vo, _ := other.Volume(); vo == va {
		t.Errorf("another directory has the same volume %q", vo)
	}
}

// Spark standalone runs no Python application in cluster mode: such a request is the
// client's 400; a JVM application, or Python in client mode, is submitted.
func TestStandaloneClusterModeRefusesPython(t *testing.T) {
	l, allowed, _ := newTestLauncher(t, "spark://127.0.0.1:7077")
	l.cfg.DeployMode = "cluster"
	for _, spec := range []Spec{{File: allowed + "/job.py"}, {File: allowed + "/job.jar", PyFiles: []string{allowed + "/job.py"}}} {
		if _, err := l.Command(&spec, "sparkgate-batch-1-ab"); errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "no Python application in cluster deploy mode") {
			t.Errorf("%+v in standalone cluster mode: %v, want a 400", spec, err)
		}
	}
	os.WriteFile(allowed+"/job.jar", []byte("PK"), 0o644)
	if _, err := l.Command(&Spec{File: allowed + "/job.jar", ClassName: "Main"}, "sparkgate-batch-1-ab"); err != nil {
		t.Errorf("a JVM application in standalone cluster mode: %v", err)
	}
	// a session's driver runs in client mode there, whatever the gateway's mode
	if argv, err := l.Command(&Spec{File: "/data/driver/sparkgate_driver.py", ServerFile: true}, "sparkgate-session-1-ab"); err != nil ||
		!slices.Contains(argv, "--deploy-mode=client") {
		t.Errorf("a session's driver in standalone cluster mode: %v, %v; want client mode", argv, err)
	}
	l.cfg.DeployMode = "client"
	if _, err := l.Command(&Spec{File: allowed + "/job.py"}, "sparkgate-batch-1-ab"); err != nil {
		t.Errorf("Python in standalone client mode: %v", err)
	}
}

// The whitelist judges the file Spark will read, for every way of writing a path: escapes
// Spark would decode, a fragment, a query, a symlink; what passes comes back in a form
// Spark reads one way only.
func TestResolveJudgesTheFileSparkReads(t *testing.T) {
	l, allowed, secret := newTestLauncher(t, "local[*]")
	os.WriteFile(filepath.Join(allowed, "a b.py"), []byte(""), 0o644)
	refused := []string{
		allowed + "/%2e%2e/secret/job.py",                      // a bare path Spark decodes once it has a fragment
		allowed + "/%2e%2e/%2e%2e" + secret + "/job.py#job.py", // … like this
		allowed + "/job.py?x",                                  // a query
		"file://" + allowed + "/%2e%2e/secret/job.py",          // a file: URI decodes to the secret directory
		"file://" + allowed + "/..%2fsecret/job.py",            // an encoded slash
		"file:" + allowed + "/link/job.py",                     // through a symlink
		"file://" + allowed + "/job.py?x=1",                    // a query on a file: URI
		allowed + "/job.py#../../etc/passwd",                   // a fragment that is a path
		allowed + "/job.py#..",                                 // a fragment that climbs
		"local:" + allowed + "/%2e%2e/secret/job.py",           // local: decodes too
		"file://otherhost" + allowed + "/job.py",               // another host's file
	}
	for _, ref := range refused {
		for _, field := range []string{"file", "spark.files", "uri"} {
			if got, err := l.Resolve(field, ref); err == nil || errkind.Of(err) != errkind.Invalid {
				t.Errorf("Resolve(%s, %q) = %q, %v; want a 400", field, ref, got, err)
			}
		}
	}
	passed := map[string]string{
		allowed + "/job.py":               allowed + "/job.py",
		allowed + "/./job.py":             allowed + "/job.py",
		allowed + "/job.py#renamed.py":    "file://" + allowed + "/job.py#renamed.py",
		"file://" + allowed + "/a%20b.py": "file://" + allowed + "/a%20b.py",
		"file:" + allowed + "/a b.py":     "file://" + allowed + "/a%20b.py", // Java's URI would refuse the space
		"local:" + allowed + "/job.py":    "local://" + allowed + "/job.py",
		"hdfs:///data/%2e%2e/x.py":        "hdfs:///data/%2e%2e/x.py", // remote: the cluster's business
	}
	for ref, want := range passed {
		if got, err := l.Resolve("file", ref); err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
}

// Conf that lets an application run a program or read a file of this host as the gateway is
// refused unless the operator opens it; opened, its paths pass the whitelist too.
func TestRestrictedConfIsRefusedUnlessOpened(t *testing.T) {
	l, allowed, secret := newTestLauncher(t, "local[*]")
	for _, conf := range []map[string]string{
		{"spark.driver.extraJavaOptions": "-XX:OnOutOfMemoryError=/bin/sh"},
		{"spark.pyspark.driver.python": "/bin/sh"},
		{"spark.driver.extraClassPath": "/tmp/evil.jar"},
		{"spark.kerberos.keytab": "/etc/krb5.keytab"},
		{"spark.driver.resource.gpu.discoveryScript": "/tmp/x.sh"},
		{"spark.executor.extraLibraryPath": "/tmp"},
	} {
		_, err := l.Command(&Spec{File: allowed + "/job.py", Conf: conf}, "t")
		if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "--spark-conf-allowed") {
			t.Errorf("%v: %v, want a 400 naming --spark-conf-allowed", conf, err)
		}
	}
	open, err := New(Config{SparkHome: "/spark", Master: "local[*]", LocalDirWhitelist: []string{allowed},
		ConfAllowed: []string{"spark.driver.extraClassPath", "spark.driver.resource.*.discoveryScript"},
		AppsDir:     t.TempDir(), SupervisorCmd: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	argv, err := open.Command(&Spec{File: allowed + "/job.py", Conf: map[string]string{"spark.driver.extraClassPath": allowed + "/a.jar:" + allowed + "/b.jar"}}, "t")
	if err != nil || !slices.Contains(argv, "--conf=spark.driver.extraClassPath="+allowed+"/a.jar:"+allowed+"/b.jar") {
		t.Errorf("an opened key within the whitelist: %v, %v", argv, err)
	}
	if _, err := open.Command(&Spec{File: allowed + "/job.py", Conf: map[string]string{"spark.driver.extraClassPath": allowed + "/a.jar:" + secret + "/b.jar"}}, "t"); err == nil {
		t.Error("an opened key's path outside the whitelist passed")
	}
}

// Settings leave the command line, which every local user reads, for a 0600 properties file
// that starts with spark-defaults.conf; the application's own arguments stay as they are.
func TestConfGoesToAPrivatePropertiesFile(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "conf"), 0o755)
	os.WriteFile(filepath.Join(home, "conf", "spark-defaults.conf"), []byte("spark.eventLog.enabled true\n"), 0o644)
	l, err := New(Config{SparkHome: home, AppsDir: t.TempDir(), SupervisorCmd: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	argv := []string{"spark-submit", "--master=local", "--conf=spark.hadoop.fs.s3a.secret.key=s3cr=t", "--conf=odd key:x= v\\1",
		"--name=n", "/job.py", "--conf=an-argument-of-the-job"}
	got, err := l.confOutOfArgv(dir, argv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, propertiesFile)
	if want := []string{"spark-submit", "--master=local", "--name=n", "--properties-file=" + path, "/job.py", "--conf=an-argument-of-the-job"}; !slices.Equal(got, want) {
		t.Errorf("argv = %q\nwant %q", got, want)
	}
	b, _ := os.ReadFile(path)
	want := "spark.eventLog.enabled true\n\n# the application's settings (sparkgate)\nspark.hadoop.fs.s3a.secret.key=s3cr=t\nodd\\ key\\:x=\\ v\\\\1\n"
	if string(b) != want {
		t.Errorf("properties =\n%s\nwant\n%s", b, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// Conf that places the application in a Kubernetes cluster (namespace, service account, pod
// template, volumes) is the operator's: refused from users unless opened, whatever the master.
func TestPlacementConfIsRefusedUnlessOpened(t *testing.T) {
	for _, master := range []string{"k8s://https://127.0.0.1:6443", "local[*]"} {
		l, allowed, _ := newTestLauncher(t, master)
		for _, conf := range []map[string]string{
			{"spark.kubernetes.driver.volumes.hostPath.root.mount.path": "/host", "spark.kubernetes.driver.volumes.hostPath.root.options.path": "/"},
			{"spark.kubernetes.authenticate.driver.serviceAccountName": "cluster-admin"},
			{"spark.kubernetes.namespace": "kube-system"},
			{"spark.kubernetes.driver.podTemplateFile": allowed + "/privileged.yaml"},
		} {
			_, err := l.Command(&Spec{File: allowed + "/job.py", Conf: conf}, "t")
			if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "spark.kubernetes.") {
				t.Errorf("%s, %v: %v; want a 400 naming the key", master, conf, err)
			}
		}
	}
	open, err := New(Config{SparkHome: "/spark", Master: "k8s://https://127.0.0.1:6443", ConfAllowed: []string{"spark.kubernetes.executor.podNamePrefix"},
		LocalDirWhitelist: []string{"/"}, AppsDir: t.TempDir(), SupervisorCmd: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	argv, err := open.Command(&Spec{File: "/job.py", Conf: map[string]string{"spark.kubernetes.executor.podNamePrefix": "etl"}}, "t")
	if err != nil || !slices.Contains(argv, "--conf=spark.kubernetes.executor.podNamePrefix=etl") {
		t.Errorf("an opened key: %v, %v", argv, err)
	}
}
