// Package integration starts the real sparkgate binary and drives it over HTTP, on real
// Spark in local mode (SPARK_HOME) or on a stub spark-submit where only the server is
// under test.
package integration

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/tlsfiles"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sparkgate-it-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "sparkgate")
	build := exec.Command("go", "build", "-race", "-o", binPath, "../../cmd/sparkgate")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sparkgate:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopStandalone()
	removeJavaJobs()
	stopYarn()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testdata(t testing.TB, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sparkHome returns the real Spark to test against (requiredEnv).
func sparkHome(t testing.TB) string { return requiredEnv(t, "SPARK_HOME", "real-Spark") }

// requiredEnv returns the environment variable key that names a real component of the tests;
// without it the test is skipped, unless SPARKGATE_REQUIRE_SPARK is set (as make test does),
// where it fails.
func requiredEnv(t testing.TB, key, what string) string {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		if os.Getenv("SPARKGATE_REQUIRE_SPARK") != "" {
			t.Fatalf("%s is not set; run through make test", key)
		}
		t.Skipf("%s is not set: %s test skipped (make test sets it)", key, what)
	}
	return v
}

type server struct {
	t       testing.TB
	addr    string
	dataDir string
	args    []string
	env     []string
	mu      sync.Mutex
	cmd     *exec.Cmd
	out     *bytes.Buffer
	waited  chan struct{}
	// authorize, when set, adds credentials to each request of do that sets no
	// Authorization header of its own.
	authorize func(*http.Request)
	scheme    string       // http, or https when the server serves TLS
	client    *http.Client // testClient, or one trusting the server's CA
	prefix    []string     // serverOpts.prefix
}

type serverOpts struct {
	store     string // a postgres:// URL; empty for the embedded store
	sparkHome string
	args      []string
	env       []string
	dataDir   string
	addr      string // host:port to serve on; a free one when empty
	// caFile, when set, says the server serves TLS under a certificate of this CA.
	caFile string
	// prefix runs the server under a command (prlimit …).
	prefix []string
}

func freeAddr(t testing.TB) string {
	t.Helper()
	return freePort()
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs sparkgate serve and waits until it answers.
func startServer(t testing.TB, o serverOpts) *server {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	if o.addr == "" {
		o.addr = freeAddr(t)
	}
	s := &server{t: t, addr: o.addr, dataDir: o.dataDir, env: o.env, scheme: "http", client: testClient, prefix: o.prefix}
	if o.caFile != "" {
		s.scheme, s.client = "https", trustingClient(t, o.caFile)
	}
	s.client = &http.Client{Timeout: s.client.Timeout, Transport: validating{t: t, base: transportOf(s.client)}}
	s.args = append([]string{"serve", "--addr", s.addr, "--data-dir", o.dataDir, "--spark-home", o.sparkHome,
		"--local-dir-whitelist", testdata(t, "jobs") + "," + examplesDir(t), "--log-level", "debug",
		"--app-env", "STUB_*"}, o.args...) // the stub spark-submit's settings
	if o.store != "" {
		s.args = append(s.args, "--store", o.store)
	}
	s.start()
	t.Cleanup(func() {
		s.stop()
		// Applications outlive their server by design; not their test, whose temporary
		// directory they would write into while it is removed.
		killApplicationsIn(o.dataDir)
		if t.Failed() {
			t.Logf("server output:\n%s", s.output())
		}
	})
	return s
}

func examplesDir(t testing.TB) string {
	p, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *server) start() {
	s.t.Helper()
	s.mu.Lock()
	argv := append(append(slices.Clone(s.prefix), binPath), s.args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	// The race runtime sleeps a second at every exit by default, which would add a second to
	// each launch (the short-lived "supervise --detach" step).
	cmd.Env = append(append(os.Environ(), "GORACE=atexit_sleep_ms=0"), s.env...)
	if s.out == nil {
		s.out = &bytes.Buffer{}
	}
	cmd.Stdout, cmd.Stderr = &lockedWriter{mu: &s.mu, w: s.out}, &lockedWriter{mu: &s.mu, w: s.out}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		s.t.Fatal(err)
	}
	s.cmd = cmd
	s.waited = make(chan struct{})
	waited := s.waited
	s.mu.Unlock()
	go func() { cmd.Wait(); close(waited) }()
	waitFor(s.t, 30*time.Second, "server to answer", func() bool {
		resp, err := s.client.Get(s.url("/version"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200 || resp.StatusCode == 401 // 401: it answers, and wants credentials
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func (s *server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd, waited := s.cmd, s.waited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-waited:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-waited
	}
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
}

// kill SIGKILLs the server: no goodbye, as in a crash.
func (s *server) kill() { s.signal(syscall.SIGKILL) }

// stop asks the server to shut down gracefully.
func (s *server) stop() { s.signal(syscall.SIGTERM) }

// stopTimed SIGTERMs the server and returns how long it took to exit, and its exit code.
func (s *server) stopTimed() (time.Duration, int) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	start := time.Now()
	s.stop()
	return time.Since(start), cmd.ProcessState.ExitCode()
}

func (s *server) url(path string) string { return s.scheme + "://" + s.addr + path }

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport == nil {
		return http.DefaultTransport
	}
	return c.Transport
}

// testClient bounds every request, so that a server that stops answering fails the test
// instead of hanging it.
var testClient = &http.Client{Timeout: time.Minute}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %q", r.status, r.body)
	}
	return m
}

func (s *server) do(method, path, body string, headers ...string) *response {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url(path), rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json") // as every Livy client sends it
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1] // Go sends req.Host, never a Host header of req.Header
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	if _, own := req.Header["Authorization"]; s.authorize != nil && !own {
		s.authorize(req)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// createBatch posts a batch and returns its id.
func (s *server) createBatch(body string) int {
	s.t.Helper()
	r := s.do("POST", "/batches", body)
	if r.status != 201 {
		s.t.Fatalf("POST /batches = %d %s", r.status, r.body)
	}
	return int(r.json(s.t)["id"].(float64))
}

func (s *server) state(id int) string {
	s.t.Helper()
	r := s.do("GET", fmt.Sprintf("/batches/%d/state", id), "")
	if r.status != 200 {
		return fmt.Sprintf("http-%d", r.status)
	}
	return r.json(s.t)["state"].(string)
}

func (s *server) waitState(id int, timeout time.Duration, want ...string) string {
	s.t.Helper()
	var got string
	waitFor(s.t, timeout, fmt.Sprintf("batch %d to reach %v", id, want), func() bool {
		got = s.state(id)
		for _, w := range want {
			if got == w {
				return true
			}
		}
		return false
	})
	return got
}

// allLog pages through the whole log of a batch.
// endsAs waits for batch id to end and checks that it ended want, with logHas in its log.
func (s *server) endsAs(t testing.TB, id int, want, logHas string) {
	t.Helper()
	if got := s.waitState(id, sparkTimeout, "success", "dead", "killed"); got != want {
		t.Fatalf("batch %d ended %s, want %s\n%s", id, got, want, strings.Join(s.allLog(id, 2000), "\n"))
	}
	if log := strings.Join(s.allLog(id, 2000), "\n"); !strings.Contains(log, logHas) {
		t.Errorf("batch %d's log lacks %q:\n%s", id, logHas, log)
	}
}

func (s *server) allLog(id, pageSize int) []string {
	s.t.Helper()
	var lines []string
	for from := 0; ; from += pageSize {
		r := s.do("GET", fmt.Sprintf("/batches/%d/log?from=%d&size=%d", id, from, pageSize), "")
		if r.status != 200 {
			s.t.Fatalf("log page: %d %s", r.status, r.body)
		}
		var page struct {
			From  int      `json:"from"`
			Total int      `json:"total"`
			Log   []string `json:"log"`
		}
		json.Unmarshal(r.body, &page)
		lines = append(lines, page.Log...)
		if from+pageSize >= page.Total {
			return lines
		}
	}
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// adoptionsIn counts the adoption passes in a server's output that took over sessions of kind
// ("batch" or "session") from an instance whose lease expired.
func adoptionsIn(output, kind string) int {
	n := 0
	for _, line := range strings.Split(output, "\n") {
		if strings.Contains(line, "adopted sessions of an instance whose lease expired") && strings.Contains(line, " kind="+kind+" ") {
			n++
		}
	}
	return n
}

// killApplicationsIn kills the supervisors of dir's applications, with their process groups,
// and waits until they are gone.
func killApplicationsIn(dir string) {
	supervisors := func() []int {
		var pids []int
		cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range cmdlines {
			b, err := os.ReadFile(p)
			if err != nil || !bytes.Contains(b, []byte("supervise")) || !bytes.Contains(b, []byte(dir)) {
				continue
			}
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		pids := supervisors()
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			syscall.Kill(-pid, syscall.SIGKILL) // a supervisor leads its own process group
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// processesWithTag lists live processes whose command line or environment carries tag.
func processesWithTag(tag string) []string {
	var found []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(tag)) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "stat"))
		if s := string(stat); strings.Contains(s, ") Z ") {
			continue // a zombie nobody reaped is not a running process
		}
		found = append(found, strings.ReplaceAll(string(b), "\x00", " "))
	}
	return found
}

// concurrentPuts sends n identical PUTs to path under one requestId at once, spread over the
// servers, and counts the answers' statuses and the distinct batch ids they name.
func concurrentPuts(t testing.TB, servers []*server, path, body, requestID string, n int) (map[int]int, []float64) {
	t.Helper()
	statuses := make([]int, n)
	ids := make([]float64, n)
	var wg sync.WaitGroup
	for i := range n {
		srv := servers[i%len(servers)]
		wg.Go(func() {
			r := srv.do("PUT", path, body, "requestId", requestID)
			statuses[i] = r.status
			if r.status < 300 {
				ids[i] = r.json(t)["id"].(float64)
			}
		})
	}
	wg.Wait()
	count := map[int]int{}
	var distinct []float64
	for i, st := range statuses {
		count[st]++
		if st < 300 && !slices.Contains(distinct, ids[i]) {
			distinct = append(distinct, ids[i])
		}
	}
	return count, distinct
}

// httpGet returns the body of a GET of url that answered 200, failing the test otherwise.
func httpGet(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d %v: %.300s", url, resp.StatusCode, err, b)
	}
	return string(b)
}

// trustingClient is testClient trusting the CAs of caFile (and no other).
func trustingClient(t testing.TB, caFile string) *http.Client {
	pool, err := tlsfiles.CertPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: testClient.Timeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}
