package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// yarnCluster is one real YARN, a ResourceManager and a NodeManager in one JVM (Hadoop's
// MiniYARNCluster, from test/minicluster; make yarn-deps builds it), on loopback, shared by
// every test of this binary. Its NodeManager has 6 GB: three small Spark applications at once
// (AM 512m + one 512m executor each, 2 GB with YARN's rounding).
type yarnCluster struct {
	ConfDir string // for HADOOP_CONF_DIR and YARN_CONF_DIR: yarn-site.xml and core-site.xml
	RMURL   string // the ResourceManager's web address (REST API, proxy): http://127.0.0.1:port

	dir    string // ConfDir, the NodeManager's directories and the fixture's log
	cmd    *exec.Cmd
	stdin  io.WriteCloser // closing it stops the fixture
	exited chan struct{}  // closed once cmd has been waited for
}

var (
	yarnOnce   sync.Once
	yarnShared *yarnCluster
	yarnErr    error
)

// yarnClasspath returns the fixture's Java classpath (make yarn-deps builds it; requiredEnv).
func yarnClasspath(t *testing.T) string { return requiredEnv(t, "SPARKGATE_YARN_CLASSPATH", "YARN") }

// sharedYarn starts the cluster at the first call and returns it; stopYarn (from TestMain)
// stops it.
func sharedYarn(t *testing.T) *yarnCluster {
	t.Helper()
	cp := yarnClasspath(t)
	yarnOnce.Do(func() { yarnShared, yarnErr = startYarn(cp) })
	if yarnErr != nil {
		t.Fatalf("start YARN: %v", yarnErr)
	}
	return yarnShared
}

func startYarn(classpath string) (*yarnCluster, error) {
	dir, err := os.MkdirTemp("", "sparkgate-yarn-")
	if err != nil {
		return nil, err
	}
	y := &yarnCluster{ConfDir: filepath.Join(dir, "conf"), dir: dir, exited: make(chan struct{})}
	java, javaHome, err := findJava()
	if err != nil {
		return nil, err
	}
	port := func() string { return strings.TrimPrefix(freePort(), "127.0.0.1:") }
	y.cmd = exec.Command(java, "-Xmx1g", "-cp", classpath, "io.sparkgate.minicluster.MiniYarn",
		"--conf-dir", y.ConfDir, "--work-dir", filepath.Join(dir, "work"),
		"--rm-port", port(), "--scheduler-port", port(), "--tracker-port", port(), "--admin-port", port(), "--web-port", port())
	// The NodeManager hands both to the containers: SPARK_LOCAL_IP keeps a cluster-mode driver,
	// and what its executors dial, on loopback; Spark's AM command runs $JAVA_HOME/bin/java.
	y.cmd.Env = append(os.Environ(), "SPARK_LOCAL_IP=127.0.0.1", "JAVA_HOME="+javaHome)
	out, err := os.Create(y.logPath())
	if err != nil {
		return nil, err
	}
	defer out.Close()
	y.cmd.Stdout, y.cmd.Stderr = out, out
	if y.stdin, err = y.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	y.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := y.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { y.cmd.Wait(); close(y.exited) }()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		// MiniYarn writes ready last, once the RM answers and the NodeManager has registered.
		if b, err := os.ReadFile(filepath.Join(y.ConfDir, "ready")); err == nil {
			y.RMURL = strings.TrimSpace(string(b))
			fmt.Fprintf(os.Stderr, "YARN ready at %s in %s (log: %s)\n", y.RMURL, time.Since(start).Round(time.Millisecond), y.logPath())
			return y, nil
		}
		select {
		case <-y.exited:
			err = fmt.Errorf("the fixture exited (%v) before it was ready", y.cmd.ProcessState)
		default:
			if time.Now().After(deadline) {
				err = errors.New("not ready after 2m")
			}
		}
		if err != nil {
			tail := y.logTail(40)
			y.stop()
			return nil, fmt.Errorf("%w; its log ends:\n%s", err, tail)
		}
	}
}

// findJava returns the java to run (that of JAVA_HOME, else the one on PATH) and its home.
func findJava() (java, home string, err error) {
	if home = os.Getenv("JAVA_HOME"); home != "" {
		return filepath.Join(home, "bin", "java"), home, nil
	}
	p, err := exec.LookPath("java")
	if err != nil {
		return "", "", fmt.Errorf("no java for YARN: %w", err)
	}
	resolved, err := filepath.EvalSymlinks(p) // /usr/bin/java → /usr/lib/jvm/…/bin/java
	if err != nil {
		return "", "", err
	}
	return p, filepath.Dir(filepath.Dir(resolved)), nil
}

func (y *yarnCluster) logPath() string { return filepath.Join(y.dir, "minicluster.log") }

func (y *yarnCluster) logTail(n int) string {
	b, _ := os.ReadFile(y.logPath())
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// stop closes the fixture's stdin, which stops the cluster (killing its containers) and the
// JVM; after 30 s it SIGKILLs the JVM's process group and any container left behind.
func (y *yarnCluster) stop() {
	start := time.Now()
	y.stdin.Close()
	select {
	case <-y.exited:
	case <-time.After(30 * time.Second):
		fmt.Fprintf(os.Stderr, "YARN did not stop in 30s; killing it (log: %s)\n", y.logPath())
		syscall.Kill(-y.cmd.Process.Pid, syscall.SIGKILL)
		<-y.exited
		// Containers run in sessions of their own; their command lines name their log
		// directories, which are under y.dir.
		killProcessGroupsMentioning(y.dir)
	}
	if os.Getenv("SPARKGATE_YARN_KEEP") == "" {
		os.RemoveAll(y.dir)
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "YARN stopped in %s\n", time.Since(start).Round(time.Millisecond))
	}
}

// stopYarn stops the shared cluster if a test started it; TestMain calls it.
func stopYarn() {
	if yarnShared != nil {
		yarnShared.stop()
	}
}

// killProcessGroupsMentioning SIGKILLs the process group of every process whose command line
// contains s.
func killProcessGroupsMentioning(s string) {
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(s)) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			syscall.Kill(-pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// Env is what a spark-submit to this cluster needs in its environment (with --master yarn).
// It reads the RM's addresses from yarn-site.xml there, and ships that configuration to the
// AM. Tests should also pass spark.yarn.jars=local:$SPARK_HOME/jars/*: otherwise every
// application uploads a 411 MB zip of Spark's jars.
func (y *yarnCluster) Env() []string {
	return []string{"HADOOP_CONF_DIR=" + y.ConfDir, "YARN_CONF_DIR=" + y.ConfDir}
}

// yarnApp is an application as the ResourceManager's REST API tells it. A Spark application
// that fails ends State FINISHED with FinalStatus FAILED (after YARN's two attempts).
type yarnApp struct {
	ID          string `json:"id"`
	State       string `json:"state"`       // NEW … ACCEPTED, RUNNING, FINISHED, FAILED, KILLED
	FinalStatus string `json:"finalStatus"` // UNDEFINED while it runs, then SUCCEEDED, FAILED, KILLED
	TrackingURL string `json:"trackingUrl"` // the RM's proxy to the Spark UI (http://localhost:…)
	Diagnostics string `json:"diagnostics"`
	// The NodeManager's page of the AM container's logs (http://localhost:…/node/containerlogs/
	// CONTAINER/USER); + "/stdout/?start=0" or "/stderr/?start=0" serves the whole file, which in
	// cluster mode is the driver's, also after the application ended.
	AMContainerLogs string `json:"amContainerLogs"`
}

// Apps returns the applications tagged tag (spark.yarn.tags). YARN stores tags lowercased and
// matches the query in any case.
func (y *yarnCluster) Apps(t *testing.T, tag string) []yarnApp {
	t.Helper()
	req, err := http.NewRequest("GET", y.RMURL+"/ws/v1/cluster/apps?applicationTags="+url.QueryEscape(tag), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatalf("YARN apps: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct {
		Apps *struct { // null when there is none
			App []yarnApp `json:"app"`
		} `json:"apps"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &body) != nil {
		t.Fatalf("YARN apps = %d %q", resp.StatusCode, b)
	}
	if body.Apps == nil {
		return nil
	}
	return body.Apps.App
}
