package integration

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/launcher/backendtest"
	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
	"github.com/sparkgate/sparkgate/internal/yarn"
)

var yarnSparkConf sync.Map // Spark home → SPARK_CONF_DIR

// sparkEnv is the environment of a gateway (or spark-submit) that submits to this cluster
// with the Spark of home: the Hadoop configuration, and Spark defaults an operator would set —
// Spark's jars from the installation instead of a 411 MB upload per application, small
// drivers and executors for this machine, and one attempt per application, so that a failing
// job fails at its first attempt.
func (y *yarnCluster) sparkEnv(t testing.TB, home string) []string {
	t.Helper()
	dir, ok := yarnSparkConf.Load(home)
	if !ok {
		d := filepath.Join(y.dir, fmt.Sprintf("spark-conf-%d", time.Now().UnixNano()))
		defaults := "spark.yarn.jars local:" + filepath.Join(home, "jars") + "/*\n" +
			"spark.driver.memory 512m\nspark.executor.memory 512m\nspark.executor.instances 1\nspark.yarn.maxAppAttempts 1\n"
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "spark-defaults.conf"), []byte(defaults), 0o600); err != nil {
			t.Fatal(err)
		}
		dir, _ = yarnSparkConf.LoadOrStore(home, d)
	}
	return append(y.Env(), "SPARK_CONF_DIR="+dir.(string))
}

// gateway starts a gateway that submits to this cluster in mode (client or cluster), asking
// the RM every 500 ms.
func (y *yarnCluster) gateway(t *testing.T, home, mode string, args ...string) *server {
	t.Helper()
	return startServer(t, serverOpts{sparkHome: home, env: append(y.sparkEnv(t, home), "SPARK_LOCAL_IP=127.0.0.1"),
		args: append([]string{"--spark-master", "yarn", "--spark-deploy-mode", mode, "--cluster-poll-interval", "500ms"}, args...)})
}

// deleteSession deletes session 0 of s and waits for YARN to show its application killed.
func (y *yarnCluster) deleteSession(t *testing.T, s *server, appID string) {
	t.Helper()
	if r := s.do("DELETE", "/sessions/0", ""); r.status != 200 {
		t.Fatalf("DELETE = %d %s", r.status, r.body)
	}
	waitFor(t, 30*time.Second, "YARN to show the session's application killed", func() bool { return y.appState(t, appID) == "KILLED" })
}

// appState is the state of application id as the RM tells it ("" when it knows none).
func (y *yarnCluster) appState(t *testing.T, id string) string {
	t.Helper()
	for _, a := range y.Apps(t, "sparkgate") {
		if a.ID == id {
			return a.State
		}
	}
	return ""
}

// logDriver logs the end of the stdout and stderr of application id's driver (its AM container
// in cluster mode), as the NodeManager serves them.
func (y *yarnCluster) logDriver(t *testing.T, id string) {
	for _, a := range y.Apps(t, "sparkgate") {
		if a.ID != id || a.AMContainerLogs == "" {
			continue
		}
		for _, name := range []string{"stdout", "stderr"} {
			resp, err := testClient.Get(a.AMContainerLogs + "/" + name + "/?start=-20000")
			if err != nil {
				t.Logf("driver %s: %v", name, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Logf("driver %s of %s (end):\n%s", name, id, b)
		}
	}
}

// The YARN backend passes the backends' conformance suite on the real ResourceManager, in
// cluster mode, with real Spark.
func TestYarnBackendConformance(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	y := sharedYarn(t)
	apps, env := t.TempDir(), append(os.Environ(), y.sparkEnv(t, home)...)
	spec := func(file string, args ...string) *launcher.Spec {
		return &launcher.Spec{File: testdata(t, "jobs/"+file), Args: args}
	}
	backendtest.Run(t, backendtest.Harness{
		Backend: func(t *testing.T) launcher.Backend {
			l, err := launcher.New(launcher.Config{SparkHome: home, Master: "yarn", DeployMode: "cluster", AppsDir: apps,
				LocalDirWhitelist: []string{testdata(t, "jobs")}, SupervisorCmd: []string{binPath, "supervise", "--detach"}, Env: env})
			if err != nil {
				t.Fatal(err)
			}
			return yarn.New(l, yarn.NewResourceManager(y.RMURL, nil), yarn.Config{PollInterval: 500 * time.Millisecond},
				slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		},
		Marker:  func(dir, name string) *launcher.Spec { return spec("marker.py", dir, name) },
		Failing: func() *launcher.Spec { return spec("fail.py") },
		Lasting: func() *launcher.Spec {
			return spec("lines.py", "1", filepath.Join(apps, "never"), filepath.Join(apps, "marker"), "600")
		},
		Timeout:  sparkTimeout,
		IDPrefix: "application_",
	})
}

// Batches on YARN in cluster mode, through the gateway: each shows the RM's application id;
// a running one links its Spark UI through the RM's proxy; the outcomes are YARN's final
// statuses, a failure's diagnostics in the batch's log; DELETE kills the application on YARN.
func TestYarnClusterBatches(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	y := sharedYarn(t)
	s := y.gateway(t, home, "cluster")
	batch := func(id int) map[string]any { return s.do("GET", fmt.Sprintf("/batches/%d", id), "").json(t) }

	t.Run("success", func(t *testing.T) {
		t.Parallel()
		id := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["4"]}`, filepath.Join(examplesDir(t), "pi.py")))
		if got := s.waitState(id, sparkTimeout, "success", "dead", "killed"); got != "success" {
			t.Fatalf("pi.py ended %s\n%s", got, strings.Join(s.allLog(id, 1000), "\n"))
		}
		if appID, _ := batch(id)["appId"].(string); !strings.HasPrefix(appID, "application_") || y.appState(t, appID) != "FINISHED" {
			t.Errorf("appId %q: YARN shows it %q; want the RM's FINISHED application", appID, y.appState(t, appID))
		}
		if link, _ := batch(id)["appInfo"].(map[string]any)["driverLogUrl"].(string); !strings.Contains(link, "/node/containerlogs/") {
			t.Errorf("driverLogUrl %q, want the NodeManager's page of the driver's container", link)
		}
		// the driver ran in YARN's container; its output is kept in the batch's log
		if log := strings.Join(s.allLog(id, 10000), "\n"); !strings.Contains(log, "Pi is roughly") {
			t.Errorf("the batch's log lacks the driver's output:\n%s", log)
		}
	})
	t.Run("failure", func(t *testing.T) {
		t.Parallel()
		s.endsAs(t, s.createBatch(fmt.Sprintf(`{"file":"%s"}`, testdata(t, "jobs/fail.py"))), "dead", "YARN reports the application FAILED")
	})
	t.Run("unknown queue", func(t *testing.T) {
		t.Parallel()
		id := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["2"],"queue":"nosuchqueue"}`, filepath.Join(examplesDir(t), "pi.py")))
		s.endsAs(t, id, "dead", "nosuchqueue") // YARN's word on the queue
	})
	t.Run("delete kills on YARN", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		id := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["1","%s/never","%s/marker","600"]}`, testdata(t, "jobs/lines.py"), dir, dir))
		var ui, appID string
		waitFor(t, sparkTimeout, "the running batch to link its UI", func() bool {
			view := batch(id)
			ui, _ = view["appInfo"].(map[string]any)["sparkUiUrl"].(string)
			appID, _ = view["appId"].(string)
			return ui != "" || view["state"] == "dead"
		})
		if !strings.Contains(ui, "/proxy/application_") {
			t.Errorf("sparkUiUrl %q, want the RM's proxy of the application", ui)
		} else if page := httpGet(t, ui+"api/v1/applications"); !strings.Contains(page, "application_") {
			t.Errorf("the UI through the RM's proxy does not list the application: %.300s", page)
		}
		if r := s.do("DELETE", fmt.Sprintf("/batches/%d", id), ""); r.status != 200 {
			t.Fatalf("DELETE = %d %s", r.status, r.body)
		}
		waitFor(t, 30*time.Second, "YARN to show the application killed", func() bool { return y.appState(t, appID) == "KILLED" })
	})
}

// openYarnSession creates session 0 and waits until it is idle; it returns YARN's id of its
// application.
func openYarnSession(t *testing.T, s *server, body string) string {
	t.Helper()
	if r := s.do("POST", "/sessions", body); r.status != 201 {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	waitFor(t, sparkTimeout, "the session to be idle", func() bool {
		st := s.sessionState(0)
		if st == "dead" {
			t.Fatalf("the session died:\n%s", s.do("GET", "/sessions/0/log?from=0&size=10000", "").body)
		}
		return st == "idle"
	})
	appID, _ := s.do("GET", "/sessions/0", "").json(t)["appId"].(string)
	if !strings.HasPrefix(appID, "application_") {
		t.Fatalf("appId = %q, want YARN's application_…", appID)
	}
	return appID
}

// An interactive session on YARN in cluster mode: its driver runs in YARN's application
// master container and reaches the gateway over --driver-url with the settings it was shipped
// in conf; Python and Scala statements run Spark jobs on YARN's executors, a whitelisted
// module and an uploaded file reach it (it downloads them from the gateway), and DELETE kills
// the application on YARN.
func TestYarnClusterSession(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	y := sharedYarn(t)
	s := y.gateway(t, home, "cluster")
	// the driver's JVM compiles Scala too: more than the 512m of the cluster's defaults
	appID := openYarnSession(t, s, `{"kind":"pyspark","driverMemory":"1g"}`)
	t.Cleanup(func() {
		if t.Failed() {
			y.logDriver(t, appID)
		}
	})
	if got := textOf(t, s.runStatement(0, `{"code":"import os; sc.parallelize(range(100), 4).map(lambda x: x * 2).sum()"}`)); got != "9900" {
		t.Errorf("a Python job on YARN = %q, want 9900", got)
	}
	// the driver is not this host's process: it runs in a YARN container
	if got := textOf(t, s.runStatement(0, `{"code":"print(os.environ.get('CONTAINER_ID', 'no container'))"}`)); !strings.HasPrefix(got, "container_") {
		t.Errorf("the driver's CONTAINER_ID = %q, want YARN's container_…", got)
	}
	if got := textOf(t, s.runStatement(0, `{"code":"sc.parallelize(1 to 10, 2).map(_ * 3).sum()","kind":"scala"}`)); !strings.Contains(got, "165") {
		t.Errorf("a Scala job on YARN = %q, want 165", got)
	}
	// the driver cannot read the gateway's disk: it downloads what is added or uploaded
	addAndUseFiles(t, s, 0)
	if got := textOf(t, s.runStatement(0, `{"code":"import glob, tempfile\nsorted(p.split('/')[-1] for p in glob.glob(os.environ.get('SPARKGATE_WORK_DIR', tempfile.gettempdir()) + '/sparkgate-file-*/*'))"}`)); got != "['greeting.py', 'notes.txt']" {
		t.Errorf("the driver's downloads = %s, want both files fetched from the gateway", got)
	}
	y.deleteSession(t, s, appID)
}

// A session on YARN in client mode: the driver runs beside the gateway, its executors in
// YARN's containers; the session shows YARN's application id, runs a Spark job, and DELETE
// ends the application on YARN.
func TestYarnClientSession(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	y := sharedYarn(t)
	s := y.gateway(t, home, "client")
	appID := openYarnSession(t, s, `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`)
	if got := textOf(t, s.runStatement(0, `{"code":"sc.parallelize(range(100), 4).map(lambda x: x * 2).sum()"}`)); got != "9900" {
		t.Errorf("a Python job on YARN's executors = %q, want 9900", got)
	}
	if r := s.do("DELETE", "/sessions/0", ""); r.status != 200 {
		t.Fatalf("DELETE = %d %s", r.status, r.body)
	}
	waitFor(t, 60*time.Second, "YARN to see the session's application end", func() bool {
		st := y.appState(t, appID)
		return st == "KILLED" || st == "FINISHED" || st == "FAILED"
	})
}

// The leak check: an application on YARN that carries the deployment's tag but that no
// session owns (submitted by hand here; a DELETE whose kill was lost in life) is killed after
// the grace, and the gateway's own running batch is not.
func TestYarnLeakCheck(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	y := sharedYarn(t)
	// a cluster tag of its own, as a deployment with a store of its own needs: with the
	// default one it would kill the other tests' applications, which its store does not know
	s := y.gateway(t, home, "cluster", "--cluster-tag", "sparkgate-leaktest", "--leak-check-interval", "1s", "--leak-check-grace", "3s")
	dir := t.TempDir()
	leaked := "sparkgate-batch-999-" + launcher.RandomSuffix()
	submit := exec.Command(filepath.Join(home, "bin", "spark-submit"), "--master", "yarn", "--deploy-mode", "cluster",
		"--conf", "spark.yarn.tags=sparkgate-leaktest,"+leaked, "--conf", "spark.yarn.submit.waitAppCompletion=false",
		testdata(t, "jobs/lines.py"), "1", dir+"/never", dir+"/marker", "600")
	submit.Env = append(os.Environ(), y.sparkEnv(t, home)...)
	if out, err := submit.CombinedOutput(); err != nil {
		t.Fatalf("spark-submit: %v\n%s", err, out)
	}
	own := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["1","%s/never","%s/own","600"]}`, testdata(t, "jobs/lines.py"), dir, dir))
	waitFor(t, sparkTimeout, "the leaked application to be killed", func() bool {
		apps := y.Apps(t, leaked)
		return len(apps) == 1 && apps[0].State == "KILLED"
	})
	if st := s.state(own); st != "running" && st != "starting" {
		t.Errorf("the gateway's own batch is %s after the leak check, want running", st)
	}
	if !strings.Contains(s.output(), "killed a leaked application") {
		t.Error("the gateway did not log the kill")
	}
	if r := s.do("DELETE", fmt.Sprintf("/batches/%d", own), ""); r.status != 200 {
		t.Errorf("DELETE = %d", r.status)
	}
}

// Two instances on PostgreSQL with different data directories (two hosts), YARN cluster mode,
// behind a load balancer that is the drivers' --driver-url. SIGKILL the one that runs a batch
// and a session: the other adopts both within lease + 5 s — the ResourceManager, not a
// directory, tells that the applications live — follows the batch to its true end and keeps
// the session's variables; YARN ran one application for each.
func TestYarnFleetAcrossHosts(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	y := sharedYarn(t)
	db := pgtest.URL(t)
	addrA, addrB := freeAddr(t), freeAddr(t)
	front := httptest.NewServer(&failoverProxy{backends: []string{addrA, addrB}})
	defer front.Close()
	instance := func(id, addr string) *server {
		return startServer(t, serverOpts{store: db, sparkHome: home, addr: addr, env: y.sparkEnv(t, home), // a data directory of its own
			args: []string{"--instance-id", id, "--lease", "2s", "--driver-url", front.URL, "--spark-master", "yarn",
				"--spark-deploy-mode", "cluster", "--cluster-poll-interval", "500ms"}})
	}
	a, b := instance("a", addrA), instance("b", addrB)
	dir := t.TempDir()
	id := a.createBatch(fmt.Sprintf(`{"file":"%s","args":["1","%s/release","%s/marker","600"]}`, testdata(t, "jobs/lines.py"), dir, dir))
	waitFor(t, sparkTimeout, "the batch to run on YARN", func() bool { return a.do("GET", fmt.Sprintf("/batches/%d", id), "").json(t)["appId"] != nil })
	appID := openYarnSession(t, a, `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`)
	if got := textOf(t, a.runStatement(0, `{"code":"x = 21\nx"}`)); got != "21" {
		t.Fatalf("x = %q", got)
	}

	a.kill()
	killed := time.Now()
	waitFor(t, 30*time.Second, "b to adopt a's batch and session", func() bool {
		return adoptionsIn(b.output(), "batch") > 0 && adoptionsIn(b.output(), "session") > 0
	})
	took := time.Since(killed)
	t.Logf("b adopted a's batch and session %.1fs after the SIGKILL (lease 2s)", took.Seconds())
	if took > 7*time.Second {
		t.Errorf("adoption took %s, want within lease + 5 s", took)
	}
	if got := textOf(t, b.runStatement(0, `{"code":"x * 2"}`)); got != "42" {
		t.Errorf("after the failover x * 2 = %q, want 42", got)
	}
	if err := os.WriteFile(dir+"/release", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := b.waitState(id, sparkTimeout, "success", "dead", "killed"); got != "success" {
		t.Errorf("the adopted batch ended %s, want success", got)
	}
	if runs, _ := os.ReadFile(dir + "/marker"); strings.Count(string(runs), "ran ") != 1 {
		t.Errorf("the batch's job ran %d times", strings.Count(string(runs), "ran "))
	}
	for _, tag := range []string{appDirOf(t, a, "batch", id), appDirOf(t, a, "session", 0)} {
		if apps := y.Apps(t, tag); len(apps) != 1 {
			t.Errorf("YARN ran %d applications tagged %s, want one", len(apps), tag)
		}
	}
	y.deleteSession(t, b, appID)
}

// The ResourceManager unreachable at submit: spark-submit's Hadoop client keeps trying (for
// --cluster-submit-wait, which the gateway passes as yarn.resourcemanager.connect.max-wait.ms),
// the batch stays starting meanwhile, and once the RM answers it runs and succeeds: the create
// is delayed, not lost.
func TestYarnResourceManagerDownAtSubmitDelaysTheBatch(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	y := sharedYarn(t)
	// a client configuration whose RM address is a port nothing listens on yet
	site, err := os.ReadFile(filepath.Join(y.ConfDir, "yarn-site.xml"))
	if err != nil {
		t.Fatal(err)
	}
	rmAddress := regexp.MustCompile(`(<name>yarn\.resourcemanager\.address</name>\s*<value>)([^<]+)(</value>)`)
	m := rmAddress.FindSubmatch(site)
	if m == nil {
		t.Fatalf("no yarn.resourcemanager.address in %s", site)
	}
	real, down := string(m[2]), freePort()
	site = rmAddress.ReplaceAll(site, []byte("${1}"+down+"${3}"))
	site = bytes.Replace(site, []byte("</configuration>"), []byte( // try again every second, not 30 s
		"<property><name>yarn.resourcemanager.connect.retry-interval.ms</name><value>1000</value></property></configuration>"), 1)
	conf := t.TempDir()
	core, err := os.ReadFile(filepath.Join(y.ConfDir, "core-site.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"yarn-site.xml": site, "core-site.xml": core} {
		if err := os.WriteFile(filepath.Join(conf, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := startServer(t, serverOpts{sparkHome: home,
		env:  append(y.sparkEnv(t, home), "SPARK_LOCAL_IP=127.0.0.1", "HADOOP_CONF_DIR="+conf, "YARN_CONF_DIR="+conf),
		args: []string{"--spark-master", "yarn", "--spark-deploy-mode", "cluster", "--yarn-rm-url", y.RMURL, "--cluster-poll-interval", "500ms"}})
	id := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["2"]}`, filepath.Join(examplesDir(t), "pi.py")))
	time.Sleep(8 * time.Second)
	if st := s.state(id); st != "starting" {
		t.Fatalf("with the RM unreachable the batch is %s; want it kept, starting\n%s", st, strings.Join(s.allLog(id, 1000), "\n"))
	}
	ln, err := net.Listen("tcp", down)
	if err != nil {
		t.Skipf("the address was taken meanwhile: %v", err)
	}
	stop := forward(ln, real)
	defer stop()
	s.endsAs(t, id, "success", "Pi is roughly")
}
