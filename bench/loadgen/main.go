// Command loadgen measures a sparkgate binary from outside, as a user would meet it: time to
// ready with a large store, idle memory, read throughput, durable create latency alone and in
// a burst, and (with a real Spark) the time from POST to success against spark-submit by hand.
//
//	go run ./bench/loadgen -bin ./bin/sparkgate [-spark-home DIR] [-records 100000]
//
// Launches use a stub spark-submit unless -spark-home is given for the end-to-end figure, so
// that the server's own costs are what is measured.
package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/bolt"
)

func main() {
	bin := flag.String("bin", "./bin/sparkgate", "sparkgate binary to measure")
	sparkHome := flag.String("spark-home", os.Getenv("SPARK_HOME"), "real Spark for the POST-to-success figure (empty: skip it)")
	records := flag.Int("records", 100000, "records in the store for the start-to-ready figure")
	duration := flag.Duration("duration", 5*time.Second, "how long each throughput run lasts")
	workers := flag.Int("workers", 32, "concurrent connections of the throughput runs")
	runs := flag.Int("runs", 3, "runs of the POST-to-success comparison")
	serveBare := flag.String("serve-bare", "", "(internal) serve a static batch view on this address, as the reference")
	pg := flag.String("pg", "", "a postgres:// URL: measure two instances on the PostgreSQL store instead")
	sessionsOnly := flag.Bool("sessions-only", false, "measure only interactive sessions (needs -spark-home)")
	together := flag.Int("together", 4, "idle interactive sessions to hold at once")
	flag.Parse()
	if *serveBare != "" {
		check(http.ListenAndServe(*serveBare, bareHandler()))
		return
	}

	work, err := os.MkdirTemp("", "sparkgate-bench-")
	check(err)
	defer os.RemoveAll(work)
	stub, err := filepath.Abs("test/integration/testdata/stubspark")
	check(err)
	jobs, err := filepath.Abs("test/integration/testdata/jobs")
	check(err)
	examples, err := filepath.Abs("examples")
	check(err)

	fmt.Printf("sparkgate benchmark: %s, %d connections, load generator on the same machine\n\n", *bin, *workers)

	if *pg != "" {
		benchPostgres(*bin, *pg, work, stub, jobs+","+examples, *workers, *duration)
		return
	}

	if *sessionsOnly {
		srv := start(*bin, filepath.Join(work, "spark"), *sparkHome, jobs+","+examples, nil)
		defer srv.stop()
		benchInteractive(srv.url, filepath.Join(work, "spark"), *sparkHome, *runs, *together)
		return
	}

	// 1. Ready time with a large store, and idle RSS.
	dataDir := filepath.Join(work, "big")
	seed(dataDir, *records)
	srv := start(*bin, dataDir, stub, jobs+","+examples, nil)
	fmt.Printf("start to ready with %d records:   %v\n", *records, srv.ready.Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	fmt.Printf("idle RSS:                            %.1f MB\n", float64(rss(srv.cmd.Process.Pid))/1024)
	srv.stop()

	// 2. Read throughput and durable create latency, on a fresh store.
	srv = start(*bin, filepath.Join(work, "fresh"), stub, jobs+","+examples, []string{"STUB_SLEEP=60"})
	id := createBatch(srv.url, `{"file":"`+jobs+`/ok.py"}`)
	waitState(srv.url, id, "success")
	n, lat := hammer(*workers, *duration, func(c *http.Client) error {
		return get(c, srv.url+"/batches/"+strconv.Itoa(id))
	})
	fmt.Printf("GET /batches/{id}:                   %.0f req/s (p50 %v, p99 %v)\n", float64(n)/duration.Seconds(), pct(lat, 50), pct(lat, 99))
	bare := startBare()
	bn, blat := hammer(*workers, *duration, func(c *http.Client) error { return get(c, bare.url+"/batches/0") })
	bare.stop()
	fmt.Printf("  reference, bare net/http handler:  %.0f req/s (p50 %v, p99 %v): sparkgate does %.0f%% of it\n",
		float64(bn)/duration.Seconds(), pct(blat, 50), pct(blat, 99), 100*float64(n)/float64(bn))

	var single []time.Duration
	for range 200 {
		t0 := time.Now()
		createBatch(srv.url, `{"file":"`+jobs+`/ok.py"}`)
		single = append(single, time.Since(t0))
	}
	fmt.Printf("POST /batches one at a time:         p50 %v, p99 %v (persisted before the answer)\n", pct(single, 50), pct(single, 99))

	// Idempotent creates: a first PUT against a plain POST, then replays of one PUT.
	var firstPut, post []time.Duration
	for range 200 {
		t0 := time.Now()
		createBatch(srv.url, `{"file":"`+jobs+`/ok.py"}`)
		post = append(post, time.Since(t0))
		t0 = time.Now()
		check(put(client, srv.url, newGUID(), `{"file":"`+jobs+`/ok.py"}`, 201))
		firstPut = append(firstPut, time.Since(t0))
	}
	fmt.Printf("first PUT /batches (requestId):      p50 %v, p99 %v; plain POST alongside: p50 %v: %+v more\n",
		pct(firstPut, 50), pct(firstPut, 99), pct(post, 50), pct(firstPut, 50)-pct(post, 50))
	key := newGUID()
	check(put(client, srv.url, key, `{"file":"`+jobs+`/ok.py"}`, 201))
	n, lat = hammer(*workers, *duration, func(c *http.Client) error {
		return put(c, srv.url, key, `{"file":"`+jobs+`/ok.py"}`, 200)
	})
	fmt.Printf("replayed PUT /batches:               %.0f req/s (p50 %v, p99 %v)\n", float64(n)/duration.Seconds(), pct(lat, 50), pct(lat, 99))

	burst := make([]time.Duration, 100)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			t0 := time.Now()
			createBatch(srv.url, `{"file":"`+jobs+`/sleep.py"}`)
			burst[i] = time.Since(t0)
		})
	}
	wg.Wait()
	fmt.Printf("burst of 100 concurrent POSTs:       p50 %v, p99 %v, max %v (launches queue behind them)\n", pct(burst, 50), pct(burst, 99), pct(burst, 100))
	srv.stop()
	killStubs(work)

	// 3. POST to success of the example job, against spark-submit by hand.
	if *sparkHome == "" {
		fmt.Println("\nPOST-to-success: skipped (no -spark-home)")
		return
	}
	srv = start(*bin, filepath.Join(work, "spark"), *sparkHome, jobs+","+examples, nil)
	defer srv.stop()
	submit := filepath.Join(*sparkHome, "bin", "spark-submit")
	var byHand, viaGateway []time.Duration
	for range *runs {
		t0 := time.Now()
		out, err := exec.Command(submit, "--master=local[*]", examples+"/pi.py", "2").CombinedOutput()
		if err != nil {
			fmt.Printf("spark-submit by hand failed: %v\n%s", err, out)
			return
		}
		byHand = append(byHand, time.Since(t0))
		t0 = time.Now()
		id := createBatch(srv.url, `{"file":"`+examples+`/pi.py","args":["2"]}`)
		if st := waitState(srv.url, id, "success", "dead"); st != "success" {
			fmt.Printf("batch %d ended %s\n", id, st)
			return
		}
		viaGateway = append(viaGateway, time.Since(t0))
	}
	h, g := pct(byHand, 50), pct(viaGateway, 50)
	fmt.Printf("\nexamples/pi.py, %d runs each (median):\n  spark-submit by hand:              %v\n  POST /batches to state success:    %v (%.1f%% of by hand)\n",
		*runs, h.Round(time.Millisecond), g.Round(time.Millisecond), 100*float64(g)/float64(h))
	benchInteractive(srv.url, filepath.Join(work, "spark"), *sparkHome, *runs, *together)
}

// benchInteractive measures interactive sessions on real Spark: create to idle against the
// same SparkSession made by spark-submit by hand, the round trip of "1+1" from POST to
// available (polling every millisecond), the driver's idle memory, and several idle sessions at
// once.
func benchInteractive(url, dataDir, sparkHome string, runs, together int) {
	bare, _ := filepath.Abs("bench/loadgen/testdata/bare_session.py")
	submit := filepath.Join(sparkHome, "bin", "spark-submit")
	var byHand, viaGateway []time.Duration
	var last int
	for i := range runs {
		t0 := time.Now()
		cmd := exec.Command(submit, "--master=local[*]", bare)
		out, err := cmd.StdoutPipe()
		check(err)
		check(cmd.Start())
		buf := make([]byte, 4096)
		var seen []byte
		for !bytes.Contains(seen, []byte("bare-session: ready")) {
			n, err := out.Read(buf)
			check(err)
			seen = append(seen, buf[:n]...)
		}
		byHand = append(byHand, time.Since(t0))
		io.Copy(io.Discard, out)
		cmd.Wait()

		t0 = time.Now()
		id := createSession(url)
		waitSessionState(url, id, "idle")
		viaGateway = append(viaGateway, time.Since(t0))
		if i < runs-1 {
			deleteSession(url, id)
		}
		last = id
	}
	h, g := pct(byHand, 50), pct(viaGateway, 50)
	fmt.Printf("\ninteractive pyspark session, %d runs each (median):\n  SparkSession by hand (spark-submit to getOrCreate): %v\n  POST /sessions to idle:                              %v (%.2fx)\n",
		runs, h.Round(time.Millisecond), g.Round(time.Millisecond), float64(g)/float64(h))

	var trips []time.Duration
	for i := range 200 {
		t0 := time.Now()
		r, err := client.Post(fmt.Sprintf("%s/sessions/%d/statements", url, last), "application/json", strings.NewReader(`{"code":"1+1"}`))
		check(err)
		r.Body.Close()
		for {
			g, err := client.Get(fmt.Sprintf("%s/sessions/%d/statements/%d", url, last, i))
			check(err)
			var v struct{ State string }
			json.NewDecoder(g.Body).Decode(&v)
			g.Body.Close()
			if v.State == "available" {
				break
			}
			time.Sleep(time.Millisecond)
		}
		trips = append(trips, time.Since(t0))
	}
	fmt.Printf("statement 1+1, POST to available (200 runs): p50 %v, p99 %v\n", pct(trips, 50), pct(trips, 99))
	time.Sleep(3 * time.Second)
	one := sessionRSS(dataDir, last)
	fmt.Printf("idle session's driver (JVM + Python), RSS: %.0f MB\n", float64(one)/1024)
	deleteSession(url, last)

	ids := make([]int, together)
	t0 := time.Now()
	for i := range ids {
		ids[i] = createSession(url)
	}
	for _, id := range ids {
		waitSessionState(url, id, "idle")
	}
	all := 0
	for _, id := range ids {
		all += sessionRSS(dataDir, id)
	}
	avail := memAvailable()
	fmt.Printf("%d sessions created at once: all idle after %v, %.0f MB together (%.0f MB each); MemAvailable now %.1f GB: room for about %d more\n",
		together, time.Since(t0).Round(time.Millisecond), float64(all)/1024, float64(all)/float64(together)/1024, float64(avail)/1024/1024, avail*together/max(all, 1))
	for _, id := range ids {
		deleteSession(url, id)
	}
}

func createSession(url string) int {
	resp, err := client.Post(url+"/sessions", "application/json", strings.NewReader(`{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`))
	check(err)
	defer resp.Body.Close()
	var sess struct{ ID int }
	check(json.NewDecoder(resp.Body).Decode(&sess))
	return sess.ID
}

func waitSessionState(url string, id int, want string) {
	t0 := time.Now()
	for {
		r, err := client.Get(fmt.Sprintf("%s/sessions/%d/state", url, id))
		check(err)
		var v struct{ State string }
		json.NewDecoder(r.Body).Decode(&v)
		r.Body.Close()
		if v.State == want {
			return
		}
		if v.State == "dead" || time.Since(t0) > 3*time.Minute {
			check(fmt.Errorf("session %d never became %s (%s)", id, want, v.State))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func deleteSession(url string, id int) {
	req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/sessions/%d", url, id), nil)
	if r, err := client.Do(req); err == nil {
		r.Body.Close()
	}
}

// sessionRSS sums the resident memory (kB) of the processes of a session's driver: those whose
// command line or environment names its application directory.
func sessionRSS(dataDir string, id int) int {
	dirs, _ := filepath.Glob(filepath.Join(dataDir, "apps", fmt.Sprintf("sparkgate-session-%d-*", id)))
	if len(dirs) != 1 {
		return 0
	}
	tag := []byte(filepath.Base(dirs[0]))
	total := 0
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmdline, _ := os.ReadFile(p + "/cmdline")
		environ, _ := os.ReadFile(p + "/environ")
		if bytes.Contains(cmdline, tag) || bytes.Contains(environ, tag) {
			pid, _ := strconv.Atoi(filepath.Base(p))
			total += rss(pid)
		}
	}
	return total
}

func memAvailable() int {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "MemAvailable:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return kb
		}
	}
	return 0
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// seed writes n finished batches straight into a store, as a long-lived server would have.
func seed(dataDir string, n int) {
	st, err := bolt.Open(filepath.Join(dataDir, "sparkgate.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	check(err)
	defer st.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	success := store.StateSuccess
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			sess, err := st.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting,
				Tag: "sparkgate-batch-{id}-seed", Request: []byte(`{"file":"/x.py"}`), Now: time.Now()})
			check(err)
			_, err = st.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: sess.Session.ID, State: &success, Now: time.Now()})
			check(err)
			_ = i
		})
	}
	wg.Wait()
}

type server struct {
	cmd   *exec.Cmd
	url   string
	ready time.Duration
	log   *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func start(bin, dataDir, sparkHome, whitelist string, env []string, extra ...string) *server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", dataDir, "--spark-home", sparkHome,
		"--local-dir-whitelist", whitelist, "--log-level", "info", "--max-concurrent-launches", "2", "--app-env", "STUB_*",
		"--max-active-per-user", "0") // its bursts hold more applications at once than one user's default bound
	cmd.Args = append(cmd.Args, extra...)
	cmd.Env = append(os.Environ(), env...)
	s := &server{cmd: cmd, url: "http://" + addr, log: &syncBuffer{}}
	cmd.Stderr = s.log
	t0 := time.Now()
	check(cmd.Start())
	for {
		if resp, err := http.Get(s.url + "/version"); err == nil {
			resp.Body.Close()
			s.ready = time.Since(t0)
			return s
		}
		if time.Since(t0) > 30*time.Second {
			check(fmt.Errorf("server did not become ready"))
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
}

// killStubs ends the stub applications still sleeping under dir.
func killStubs(dir string) {
	exec.Command("pkill", "-f", "stubspark/bin/spark-submit").Run()
	_ = dir
}

func rss(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return kb
		}
	}
	return 0
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

func createBatch(url, body string) int {
	resp, err := client.Post(url+"/batches", "application/json", bytes.NewBufferString(body))
	check(err)
	defer resp.Body.Close()
	var v struct{ ID int }
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		check(fmt.Errorf("POST /batches: %d %s", resp.StatusCode, b))
	}
	check(json.Unmarshal(b, &v))
	return v.ID
}

func waitState(url string, id int, want ...string) string {
	for {
		resp, err := client.Get(fmt.Sprintf("%s/batches/%d/state", url, id))
		check(err)
		var v struct{ State string }
		json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if slices.Contains(want, v.State) || v.State == "dead" {
			return v.State
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// hammer runs fn from workers goroutines for d and returns the count and latencies.
func hammer(workers int, d time.Duration, fn func(*http.Client) error) (int64, []time.Duration) {
	var n atomic.Int64
	lats := make([][]time.Duration, workers)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := fn(c); err != nil {
					check(err)
				}
				lats[w] = append(lats[w], time.Since(t0))
				n.Add(1)
			}
		})
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return n.Load(), all
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := min(len(s)-1, (len(s)*p)/100)
	return s[i].Round(time.Microsecond)
}

// bareHandler serves a fixed batch view with nothing behind it: the ceiling of this machine
// and this load generator for a GET.
func bareHandler() http.Handler {
	body := []byte(`{"id":0,"name":null,"owner":null,"proxyUser":null,"state":"success","appId":null,` +
		`"appInfo":{"driverLogUrl":null,"sparkUiUrl":null,"executorLogUrls":null},"log":["stub application done"]}` + "\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
}

func startBare() *server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	addr := ln.Addr().String()
	ln.Close()
	self, err := os.Executable()
	check(err)
	cmd := exec.Command(self, "-serve-bare", addr)
	check(cmd.Start())
	s := &server{cmd: cmd, url: "http://" + addr}
	for t0 := time.Now(); ; time.Sleep(time.Millisecond) {
		if resp, err := http.Get(s.url + "/"); err == nil {
			resp.Body.Close()
			return s
		}
		if time.Since(t0) > 10*time.Second {
			check(fmt.Errorf("reference server did not start"))
		}
	}
}

func newGUID() string {
	b := make([]byte, 16)
	crand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// put sends PUT /batches with a requestId and checks the status.
func put(c *http.Client, url, requestID, body string, want int) error {
	req, err := http.NewRequest(http.MethodPut, url+"/batches", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("requestId", requestID)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("PUT /batches: status %d, want %d", resp.StatusCode, want)
	}
	return nil
}

// benchPostgres measures two instances sharing one PostgreSQL database and one data directory.
func benchPostgres(bin, url, work, stub, whitelist string, workers int, duration time.Duration) {
	data := filepath.Join(work, "pg")
	env := []string{"STUB_SLEEP=600"}
	a := start(bin, data, stub, whitelist, env, "--store", url, "--instance-id", "bench-a")
	b := start(bin, data, stub, whitelist, env, "--store", url, "--instance-id", "bench-b")
	defer b.stop()
	fmt.Printf("two instances on PostgreSQL (%s)\n", redact(url))
	jobs := strings.Split(whitelist, ",")[0]
	body := `{"file":"` + jobs + `/ok.py"}`
	var post, firstPut []time.Duration
	for i := range 200 {
		srv := []*server{a, b}[i%2]
		t0 := time.Now()
		createBatch(srv.url, body)
		post = append(post, time.Since(t0))
		t0 = time.Now()
		check(put(client, srv.url, newGUID(), body, 201))
		firstPut = append(firstPut, time.Since(t0))
	}
	fmt.Printf("POST /batches one at a time:         p50 %v, p99 %v\n", pct(post, 50), pct(post, 99))
	fmt.Printf("first PUT /batches (requestId):      p50 %v, p99 %v\n", pct(firstPut, 50), pct(firstPut, 99))
	key := newGUID()
	check(put(client, a.url, key, body, 201))
	var turn atomic.Int64
	n, lat := hammer(workers, duration, func(c *http.Client) error {
		srv := []*server{a, b}[turn.Add(1)%2]
		return put(c, srv.url, key, body, 200)
	})
	fmt.Printf("replayed PUT across both instances:  %.0f req/s (p50 %v, p99 %v)\n", float64(n)/duration.Seconds(), pct(lat, 50), pct(lat, 99))
	n, lat = hammer(workers, duration, func(c *http.Client) error {
		srv := []*server{a, b}[turn.Add(1)%2]
		return get(c, srv.url+"/batches/0")
	})
	fmt.Printf("GET /batches/{id} across both:       %.0f req/s (p50 %v, p99 %v)\n", float64(n)/duration.Seconds(), pct(lat, 50), pct(lat, 99))

	// Failover: a supervises a running batch; it is SIGKILLed; b adopts it.
	id := createBatch(a.url, `{"file":"`+jobs+`/sleep.py"}`)
	waitState(a.url, id, "running")
	a.cmd.Process.Kill()
	a.cmd.Wait()
	killed := time.Now()
	for !strings.Contains(b.log.String(), "adopted sessions of an instance whose lease expired") {
		if time.Since(killed) > time.Minute {
			check(fmt.Errorf("b did not adopt within a minute"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("failover, SIGKILL to adoption:       %v (lease 15s, renewed and checked every 5s)\n", time.Since(killed).Round(10*time.Millisecond))
	exec.Command("pkill", "-f", "stubspark/bin/spark-submit").Run()
}

func redact(u string) string {
	if i := strings.Index(u, "@"); i > 0 {
		if j := strings.Index(u, "://"); j > 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}
