package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// standalone is one Spark standalone cluster (a Master with its REST submission server and
// one Worker, from the real Spark's own jars, on loopback) shared by every test of this binary.
type standalone struct {
	master string // spark://127.0.0.1:port
	webUI  string // http://127.0.0.1:port
	rest   string // the REST submission server, http://127.0.0.1:port
	procs  []*exec.Cmd
	dir    string
}

var (
	standaloneOnce    sync.Once
	standaloneCluster *standalone
	standaloneErr     error
)

// sharedStandalone starts the cluster at the first call and returns it; stopStandalone (from
// TestMain) stops it.
func sharedStandalone(t testing.TB, home string) *standalone {
	t.Helper()
	standaloneOnce.Do(func() { standaloneCluster, standaloneErr = startStandalone(home) })
	if standaloneErr != nil {
		t.Fatalf("start a Spark standalone cluster: %v", standaloneErr)
	}
	return standaloneCluster
}

func startStandalone(home string) (*standalone, error) {
	dir, err := os.MkdirTemp("", "sparkgate-standalone-")
	if err != nil {
		return nil, err
	}
	port := func() string { return strings.TrimPrefix(freePort(), "127.0.0.1:") }
	masterPort, webPort, restPort := port(), port(), port()
	conf := filepath.Join(dir, "spark-defaults.conf")
	if err := os.WriteFile(conf, []byte("spark.master.rest.enabled true\nspark.master.rest.port "+restPort+"\n"+
		// one core an application, four on the Worker: tests running at once do not wait for
		// each other's executors (a session holds its own for its whole life)
		"spark.deploy.defaultCores 1\n"), 0o600); err != nil {
		return nil, err
	}
	c := &standalone{master: "spark://127.0.0.1:" + masterPort, webUI: "http://127.0.0.1:" + webPort,
		rest: "http://127.0.0.1:" + restPort, dir: dir}
	run := func(name string, args ...string) error {
		cmd := exec.Command(filepath.Join(home, "bin", "spark-class"), args...)
		cmd.Env = append(os.Environ(), "SPARK_LOCAL_IP=127.0.0.1", "SPARK_LOG_DIR="+dir, "SPARK_WORKER_DIR="+filepath.Join(dir, "work"))
		out, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			return err
		}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return err
		}
		c.procs = append(c.procs, cmd)
		return nil
	}
	if err := run("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", masterPort,
		"--webui-port", webPort, "--properties-file", conf); err != nil {
		return nil, err
	}
	if err := run("worker", "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "8", "--memory", "8g",
		"--webui-port", port(), "--work-dir", filepath.Join(dir, "work"), c.master); err != nil {
		c.stop()
		return nil, err
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var st struct {
			AliveWorkers int    `json:"aliveworkers"`
			Status       string `json:"status"`
		}
		if err := c.json(&st); err == nil && st.AliveWorkers == 1 && st.Status == "ALIVE" {
			return c, nil
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("no alive worker after 90s; logs in %s", dir)
		}
	}
}

// json reads the Master's state (its /json/ page).
func (c *standalone) json(v any) error {
	resp, err := http.Get(c.webUI + "/json/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// appState is the state of application or driver id as the Master tells it ("" when it knows
// none).
func (c *standalone) appState(id string) string {
	var st struct {
		Active           []struct{ ID, State string } `json:"activeapps"`
		Completed        []struct{ ID, State string } `json:"completedapps"`
		ActiveDrivers    []struct{ ID, State string } `json:"activedrivers"`
		CompletedDrivers []struct{ ID, State string } `json:"completeddrivers"`
	}
	if c.json(&st) != nil {
		return ""
	}
	for _, a := range slices.Concat(st.Active, st.Completed, st.ActiveDrivers, st.CompletedDrivers) {
		if a.ID == id {
			return a.State
		}
	}
	return ""
}

func (c *standalone) stop() {
	for _, p := range c.procs {
		syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
		p.Wait()
	}
	os.RemoveAll(c.dir)
}

func stopStandalone() {
	if standaloneCluster != nil {
		standaloneCluster.stop()
	}
}

// Python batches on a Spark standalone cluster in client mode: the driver runs under the
// gateway's supervisor, the executors on the Worker; the batch shows the application id the
// Master gave and a Spark UI that answers; a failing job ends dead; DELETE kills the
// application, and the Master sees it end.
func TestStandaloneClientMode(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	c := sharedStandalone(t, home)
	// SPARK_LOCAL_IP keeps the driver, and what the executors dial back, on loopback.
	s := startServer(t, serverOpts{sparkHome: home, args: []string{"--spark-master", c.master}, env: []string{"SPARK_LOCAL_IP=127.0.0.1"}})

	pi := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["20"]}`, filepath.Join(examplesDir(t), "pi.py")))
	var view map[string]any
	waitFor(t, sparkTimeout, "pi.py to show its application id", func() bool {
		view = s.do("GET", fmt.Sprintf("/batches/%d", pi), "").json(t)
		return view["appId"] != nil || view["state"] == "success" || view["state"] == "dead"
	})
	appID, _ := view["appId"].(string)
	if !strings.HasPrefix(appID, "app-") {
		t.Fatalf("appId = %v, want the Master's app-…", view["appId"])
	}
	if ui, _ := view["appInfo"].(map[string]any)["sparkUiUrl"].(string); ui == "" {
		t.Errorf("no sparkUiUrl: %v", view["appInfo"])
	} else if resp, err := http.Get(ui); err == nil {
		resp.Body.Close() // it may have ended meanwhile; while it runs the UI answers
	}
	if got := s.waitState(pi, sparkTimeout, "success", "dead"); got != "success" {
		t.Fatalf("pi.py ended %s\n%s", got, strings.Join(s.allLog(pi, 1000), "\n"))
	}
	if !strings.Contains(strings.Join(s.allLog(pi, 1000), "\n"), "Pi is roughly") {
		t.Error("pi.py's output is not in its log")
	}
	waitFor(t, 30*time.Second, "the Master to see pi.py finish", func() bool { return c.appState(appID) == "FINISHED" })

	failing := s.createBatch(fmt.Sprintf(`{"file":"%s"}`, testdata(t, "jobs/fail.py")))
	if got := s.waitState(failing, sparkTimeout, "success", "dead"); got != "dead" {
		t.Errorf("a failing job ended %s, want dead", got)
	}

	long := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["10","%s","%s","120"]}`,
		testdata(t, "jobs/lines.py"), filepath.Join(t.TempDir(), "never"), filepath.Join(t.TempDir(), "marker")))
	waitFor(t, sparkTimeout, "the long job to run on the cluster", func() bool {
		v := s.do("GET", fmt.Sprintf("/batches/%d", long), "").json(t)
		id, _ := v["appId"].(string)
		appID = id
		return id != "" && c.appState(id) == "RUNNING"
	})
	if r := s.do("DELETE", fmt.Sprintf("/batches/%d", long), ""); r.status != 200 {
		t.Fatalf("DELETE = %d %s", r.status, r.body)
	}
	waitFor(t, 30*time.Second, "the Master to see the deleted application end", func() bool {
		st := c.appState(appID)
		return st != "" && st != "RUNNING" && st != "WAITING"
	})
}

// An interactive session on Spark standalone: its driver runs in client mode even when the
// gateway submits in cluster mode (Spark runs no Python driver there), its executors on the
// Worker; Python and Scala statements run Spark jobs there, and DELETE ends the application.
func TestStandaloneSession(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	c := sharedStandalone(t, home)
	s := startServer(t, serverOpts{sparkHome: home, args: []string{"--spark-master", c.master, "--spark-deploy-mode", "cluster"},
		env: []string{"SPARK_LOCAL_IP=127.0.0.1"}})
	if r := s.do("POST", "/sessions", `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`); r.status != 201 {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	waitFor(t, sparkTimeout, "the session to be idle", func() bool { return s.sessionState(0) == "idle" })
	appID, _ := s.do("GET", "/sessions/0", "").json(t)["appId"].(string)
	if !strings.HasPrefix(appID, "app-") || c.appState(appID) != "RUNNING" {
		t.Fatalf("appId = %q (the Master says %q), want a running app-…", appID, c.appState(appID))
	}
	if got := textOf(t, s.runStatement(0, `{"code":"sc.parallelize(range(100), 4).map(lambda x: x * 2).sum()"}`)); got != "9900" {
		t.Errorf("a Python job on the Worker = %q, want 9900", got)
	}
	if got := textOf(t, s.runStatement(0, `{"code":"sc.parallelize(1 to 10, 2).map(_ * 3).sum()","kind":"scala"}`)); !strings.Contains(got, "165") {
		t.Errorf("a Scala job on the Worker = %q, want 165", got)
	}
	if r := s.do("DELETE", "/sessions/0", ""); r.status != 200 {
		t.Fatalf("DELETE = %d %s", r.status, r.body)
	}
	waitFor(t, 60*time.Second, "the Master to see the session's application end", func() bool {
		st := c.appState(appID)
		return st != "" && st != "RUNNING" && st != "WAITING"
	})
}
