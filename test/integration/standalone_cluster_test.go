package integration

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/launcher/backendtest"
	sparkstandalone "github.com/sparkgate/sparkgate/internal/standalone"
)

var (
	javaJobsOnce sync.Once
	javaJobsDir  string
	javaJobsErr  error
)

// javaJobs builds, once per test binary, the JVM programs of standalone cluster mode (which
// runs no Python driver): jobs.jar (testdata/jobs/java: Marker, Fail, Sleep) and pi.jar
// (examples/java/SparkPi.java, against the Spark installation's jars), in a directory of
// their own.
func javaJobs(t testing.TB, home string) string {
	t.Helper()
	javaJobsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sparkgate-java-jobs-")
		if err != nil {
			javaJobsErr = err
			return
		}
		javaJobsDir = dir
		classes := filepath.Join(dir, "classes")
		sources, _ := filepath.Glob(testdata(t, "jobs/java") + "/*.java")
		for _, step := range [][]string{
			append([]string{"javac", "-d", classes}, sources...),
			{"jar", "cf", filepath.Join(dir, "jobs.jar"), "-C", classes, "."},
			{filepath.Join(examplesDir(t), "java", "build.sh"), filepath.Join(dir, "pi.jar")},
		} {
			cmd := exec.Command(step[0], step[1:]...)
			cmd.Env = append(os.Environ(), "SPARK_HOME="+home)
			if out, err := cmd.CombinedOutput(); err != nil {
				javaJobsErr = fmt.Errorf("%v: %v\n%s", step, err, out)
				return
			}
		}
	})
	if javaJobsErr != nil {
		t.Fatalf("build the Java jobs: %v", javaJobsErr)
	}
	return javaJobsDir
}

func removeJavaJobs() {
	if javaJobsDir != "" {
		os.RemoveAll(javaJobsDir)
	}
}

// The standalone backend in cluster mode passes the suite on the real Master and Worker: the
// drivers run on the Worker, submitted through the Master's REST server.
func TestStandaloneBackendConformance(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	c := sharedStandalone(t, home)
	jobs := javaJobs(t, home)
	apps := t.TempDir()
	spec := func(class string, args ...string) *launcher.Spec {
		return &launcher.Spec{File: filepath.Join(jobs, "jobs.jar"), ClassName: class, Args: args, DriverMemory: "512m"}
	}
	backendtest.Run(t, backendtest.Harness{
		Backend: func(t *testing.T) launcher.Backend {
			l, err := launcher.New(launcher.Config{SparkHome: home, Master: c.master, DeployMode: "cluster", AppsDir: apps,
				LocalDirWhitelist: []string{jobs}, SupervisorCmd: []string{binPath, "supervise", "--detach"}, Env: os.Environ()})
			if err != nil {
				t.Fatal(err)
			}
			return sparkstandalone.New(l, sparkstandalone.NewMaster([]string{c.rest}, []string{c.webUI}),
				sparkstandalone.Config{SubmitCmd: []string{binPath, "standalone-submit"}, PollInterval: 500 * time.Millisecond},
				slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		},
		Marker:   func(dir, name string) *launcher.Spec { return spec("Marker", dir, name) },
		Failing:  func() *launcher.Spec { return spec("Fail") },
		Lasting:  func() *launcher.Spec { return spec("Sleep", "600") },
		Timeout:  sparkTimeout,
		IDPrefix: "driver-",
	})
}

// JVM batches on Spark standalone in cluster mode, through the gateway: the driver runs on
// the Worker and the batch shows its driver-… id; SparkPi succeeds with its output in the
// batch's log; a failing job ends dead with its exception there; DELETE kills the driver at
// the Master; a Python batch is a 400; and a Master unreachable at submit delays a batch
// without losing it.
func TestStandaloneClusterBatches(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	c := sharedStandalone(t, home)
	jobs := javaJobs(t, home)
	args := []string{"--spark-master", c.master, "--spark-deploy-mode", "cluster", "--standalone-rest-url", c.rest,
		"--standalone-web-url", c.webUI, "--cluster-poll-interval", "300ms", "--local-dir-whitelist", jobs + "," + examplesDir(t)}
	s := startServer(t, serverOpts{sparkHome: home, args: args, env: []string{"SPARK_LOCAL_IP=127.0.0.1"}})
	batch := func(id int) map[string]any { return s.do("GET", fmt.Sprintf("/batches/%d", id), "").json(t) }
	job := func(class string, args ...string) string {
		return fmt.Sprintf(`{"file":"%s","className":"%s","args":["%s"],"driverMemory":"512m"}`,
			filepath.Join(jobs, "jobs.jar"), class, strings.Join(args, `","`))
	}

	t.Run("SparkPi", func(t *testing.T) {
		t.Parallel()
		id := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["4"],"driverMemory":"512m","executorMemory":"512m"}`, filepath.Join(jobs, "pi.jar")))
		s.endsAs(t, id, "success", "Pi is roughly") // the driver's output, kept from the Worker
		driver, _ := batch(id)["appId"].(string)
		if !strings.HasPrefix(driver, "driver-") || c.appState(driver) != "FINISHED" {
			t.Errorf("appId %q: the Master says %q; want its FINISHED driver", driver, c.appState(driver))
		}
	})
	t.Run("failure", func(t *testing.T) {
		t.Parallel()
		s.endsAs(t, s.createBatch(job("Fail")), "dead", "this job fails on purpose") // the driver's exception
	})
	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		id := s.createBatch(job("Sleep", "600"))
		var driver string
		waitFor(t, sparkTimeout, "the driver to run on the Worker", func() bool {
			driver, _ = batch(id)["appId"].(string)
			return driver != "" && c.appState(driver) == "RUNNING"
		})
		info, _ := batch(id)["appInfo"].(map[string]any)
		if logURL, _ := info["driverLogUrl"].(string); !strings.Contains(logURL, driver) || !strings.Contains(httpGet(t, logURL), driver) {
			t.Errorf("driverLogUrl %q does not lead to the driver's log", logURL)
		}
		if ui, _ := info["sparkUiUrl"].(string); ui != c.webUI || !strings.Contains(httpGet(t, ui), driver) {
			t.Errorf("sparkUiUrl %q of a running driver, want the Master's page that links its application", ui)
		}
		if r := s.do("DELETE", fmt.Sprintf("/batches/%d", id), ""); r.status != 200 {
			t.Fatalf("DELETE = %d %s", r.status, r.body)
		}
		waitFor(t, 30*time.Second, "the Master to kill the driver", func() bool { return c.appState(driver) == "KILLED" })
	})
	t.Run("python is a client error", func(t *testing.T) {
		r := s.do("POST", "/batches", fmt.Sprintf(`{"file":"%s"}`, filepath.Join(examplesDir(t), "pi.py")))
		if r.status != 400 || !strings.Contains(string(r.body), "no Python application in cluster deploy mode") {
			t.Errorf("a Python batch = %d %s, want 400", r.status, r.body)
		}
	})
	t.Run("Master unreachable at submit", func(t *testing.T) {
		t.Parallel()
		down := freePort() // nothing listens there for now
		late := startServer(t, serverOpts{sparkHome: home, env: []string{"SPARK_LOCAL_IP=127.0.0.1"},
			args: append(slices.Clone(args), "--standalone-rest-url", "http://"+down)})
		if out := late.output(); !strings.Contains(out, "REST server http://"+down) || !strings.Contains(out, "cannot be reached") {
			t.Errorf("the server did not say at start that the REST server cannot be reached:\n%s", out)
		}
		id := late.createBatch(job("Marker", t.TempDir(), "runs"))
		time.Sleep(3 * time.Second)
		if st := late.state(id); st != "starting" {
			t.Fatalf("with no Master to take it, the batch is %s; want it kept, starting", st)
		}
		// the Master's REST server comes (back) at that address
		ln, err := net.Listen("tcp", down)
		if err != nil {
			t.Skipf("the address was taken meanwhile: %v", err)
		}
		stop := forward(ln, strings.TrimPrefix(c.rest, "http://"))
		defer stop()
		late.endsAs(t, id, "success", "trying again")
	})
}

// Without a REST server (Spark ships it off, and it authenticates nobody), spark-submit submits
// the driver over the Master's RPC port: the batch runs on a Worker, is followed through the
// Master's page, and DELETE has Spark's own client kill it.
func TestStandaloneClusterOverRPC(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	c := sharedStandalone(t, home)
	jobs := javaJobs(t, home)
	s := startServer(t, serverOpts{sparkHome: home, env: []string{"SPARK_LOCAL_IP=127.0.0.1"}, args: []string{"--spark-master", c.master,
		"--spark-deploy-mode", "cluster", "--standalone-web-url", c.webUI, "--cluster-poll-interval", "300ms", "--local-dir-whitelist", jobs}})
	t.Run("SparkPi", func(t *testing.T) {
		t.Parallel()
		id := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["4"],"driverMemory":"512m","executorMemory":"512m"}`, filepath.Join(jobs, "pi.jar")))
		s.endsAs(t, id, "success", "Pi is roughly")
		view := s.do("GET", fmt.Sprintf("/batches/%d", id), "").json(t)
		if driver, _ := view["appId"].(string); !strings.HasPrefix(driver, "driver-") || c.appState(driver) != "FINISHED" {
			t.Errorf("appId %q: the Master says %q; want its FINISHED driver", driver, c.appState(driver))
		}
		if log := strings.Join(s.allLog(id, 1000), "\n"); !strings.Contains(log, "Driver successfully submitted as") {
			t.Errorf("the batch's log lacks spark-submit's RPC submission:\n%s", log)
		}
	})
	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		id := s.createBatch(fmt.Sprintf(`{"file":"%s","className":"Sleep","args":["600"],"driverMemory":"512m"}`, filepath.Join(jobs, "jobs.jar")))
		var driver string
		waitFor(t, sparkTimeout, "the driver to run on the Worker", func() bool {
			driver, _ = s.do("GET", fmt.Sprintf("/batches/%d", id), "").json(t)["appId"].(string)
			return driver != "" && c.appState(driver) == "RUNNING"
		})
		if r := s.do("DELETE", fmt.Sprintf("/batches/%d", id), ""); r.status != 200 {
			t.Fatalf("DELETE = %d %s", r.status, r.body)
		}
		waitFor(t, sparkTimeout, "Spark's client to have the Master kill the driver", func() bool { return c.appState(driver) == "KILLED" })
	})
}

// forward accepts on ln and relays each connection to target, until stop closes the
// listener and every relayed connection.
func forward(ln net.Listener, target string) (stop func()) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	relay := func(to, from net.Conn) {
		defer wg.Done()
		io.Copy(to, from)
		to.Close()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			wg.Add(2)
			go relay(out, in)
			go relay(in, out)
		}
	}()
	return func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}
