// Command follow measures what following applications on a cluster manager costs the gateway.
// With N batches running "on YARN" — a stub ResourceManager in this process (package
// yarntest) and a stand-in spark-submit that submits to it — or "on Spark standalone" in
// cluster mode — a stub Master in this process (package standalonetest), to which the
// gateway's own standalone-submit submits — it reads the gateway's memory, its CPU time over a
// window as a share of one core, the cluster manager requests it sent, and the CPU per
// application and poll; N = 0 (the same gateway following nothing) is the reference, in the
// same run. At the end every application finishes on the stub, and the batches must all read
// success: what was followed was followed correctly.
//
//	go run ./bench/follow -bin ./bin/sparkgate [-cluster yarn|standalone] [-apps 0,200,1000] [-window 30s]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sparkgate/sparkgate/internal/standalone/standalonetest"
	"github.com/sparkgate/sparkgate/internal/yarn/yarntest"
)

// stubCluster is a stub cluster manager and how the gateway submits to it.
type stubCluster struct {
	args     []string // the gateway's flags for it
	env      []string
	job      func(jobs string) string // a batch's body
	requests func() int64
	finish   func(n int) // ends the n applications successfully
	close    func()
}

func yarnStub(stub string) *stubCluster {
	rm := yarntest.New()
	return &stubCluster{
		args:     []string{"--spark-home", stub, "--spark-master", "yarn", "--spark-deploy-mode", "cluster", "--yarn-rm-url", rm.URL},
		env:      []string{"STUB_RM_URL=" + rm.URL},
		job:      func(jobs string) string { return `{"file":"` + filepath.Join(jobs, "job.py") + `"}` },
		requests: func() int64 { return rm.Requests() },
		finish: func(n int) {
			for i := range n {
				rm.Set(fmt.Sprintf("application_1_%04d", i+1), "FINISHED", "SUCCEEDED", "")
			}
		},
		close: rm.Close,
	}
}

func standaloneStub() *stubCluster {
	m := standalonetest.New()
	return &stubCluster{
		args: []string{"--spark-master", "spark://stub:7077", "--spark-deploy-mode", "cluster",
			"--standalone-rest-url", m.URL, "--standalone-web-url", m.URL},
		job:      func(jobs string) string { return `{"file":"` + filepath.Join(jobs, "job.jar") + `","className":"Job"}` },
		requests: func() int64 { return m.JSONRequests.Load() + m.StatusRequests.Load() },
		finish: func(n int) {
			for i := range n {
				m.SetState(fmt.Sprintf("driver-20261201000000-%04d", i), "FINISHED")
			}
		},
		close: m.Close,
	}
}

func main() {
	bin := flag.String("bin", "./bin/sparkgate", "sparkgate binary to measure")
	counts := flag.String("apps", "0,200,1000", "comma-separated numbers of applications to follow at once (0: the reference)")
	window := flag.Duration("window", 30*time.Second, "how long CPU time is measured with every application running")
	poll := flag.Duration("poll", time.Second, "the gateway's --cluster-poll-interval")
	cluster := flag.String("cluster", "yarn", "the stub cluster manager: yarn or standalone")
	flag.StringVar(&debugAddr, "debug-addr", "", "the gateway's --debug-addr, to profile it during the window (go tool pprof http://ADDR/debug/pprof/profile)")
	flag.Parse()
	stub, err := filepath.Abs("bench/follow/stubyarn")
	check(err)
	newStub := map[string]func() *stubCluster{"yarn": func() *stubCluster { return yarnStub(stub) }, "standalone": standaloneStub}[*cluster]
	if newStub == nil {
		check(fmt.Errorf("-cluster %q: yarn or standalone", *cluster))
	}
	fmt.Printf("following applications on %s (a stub cluster manager), poll %s, window %s\n", *cluster, *poll, *window)
	fmt.Printf("%6s %10s %10s %12s %12s %14s %12s\n", "apps", "create s", "RSS MB", "peak RSS MB", "CPU %core", "CM requests/s", "µs/app/poll")
	for _, field := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		check(err)
		measure(*bin, newStub(), n, *window, *poll)
	}
}

var debugAddr string

func measure(bin string, cm *stubCluster, n int, window, poll time.Duration) {
	defer cm.close()
	data, err := os.MkdirTemp("", "sparkgate-follow-")
	check(err)
	defer os.RemoveAll(data)
	jobs := filepath.Join(data, "jobs")
	check(os.MkdirAll(jobs, 0o750))
	check(os.WriteFile(filepath.Join(jobs, "job.py"), nil, 0o600))
	check(os.WriteFile(filepath.Join(jobs, "job.jar"), nil, 0o600))
	addr := freeAddr()
	cmd := exec.Command(bin, append(append([]string{"serve", "--addr", addr, "--data-dir", filepath.Join(data, "data"),
		"--max-active-per-user", "0"}, cm.args...),
		"--cluster-poll-interval", poll.String(), "--local-dir-whitelist", jobs, "--max-concurrent-launches", "8", "--log-level", "warn", "--app-env", "STUB_*")...)
	if debugAddr != "" {
		cmd.Args = append(cmd.Args, "--debug-addr", debugAddr)
	}
	cmd.Env = append(os.Environ(), cm.env...)
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	url := "http://" + addr
	waitUntil(30*time.Second, func() bool { _, err := http.Get(url + "/version"); return err == nil })

	start := time.Now()
	for range n {
		resp, err := http.Post(url+"/batches", "application/json", bytes.NewBufferString(cm.job(jobs)))
		check(err)
		resp.Body.Close()
	}
	waitUntil(10*time.Minute, func() bool {
		return count(url, n, func(b batch) bool { return b.State == "running" && b.AppID != nil }) == n
	})
	created := time.Since(start)
	time.Sleep(3 * time.Second) // let the launches' goroutines end
	cpu0, req0, t0 := cpuSeconds(cmd.Process.Pid), cm.requests(), time.Now()
	time.Sleep(window)
	cpu, reqs, elapsed := cpuSeconds(cmd.Process.Pid)-cpu0, cm.requests()-req0, time.Since(t0)
	rss, peak := memory(cmd.Process.Pid)
	perAppPoll := "-"
	if n > 0 {
		perAppPoll = fmt.Sprintf("%.1f", cpu/(elapsed.Seconds()/poll.Seconds())/float64(n)*1e6)
	}
	fmt.Printf("%6d %10.1f %10.1f %12.1f %12.2f %14.2f %12s\n", n, created.Seconds(), rss, peak,
		100*cpu/elapsed.Seconds(), float64(reqs)/elapsed.Seconds(), perAppPoll)

	cm.finish(n)
	waitUntil(2*time.Minute, func() bool { return count(url, n, func(b batch) bool { return b.State == "success" }) == n })
}

type batch struct {
	State string  `json:"state"`
	AppID *string `json:"appId"`
}

// count is how many of the n batches satisfy ok.
func count(url string, n int, ok func(batch) bool) int {
	resp, err := http.Get(fmt.Sprintf("%s/batches?size=%d", url, max(n, 1)))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var page struct{ Sessions []batch }
	if json.NewDecoder(resp.Body).Decode(&page) != nil {
		return -1
	}
	c := 0
	for _, b := range page.Sessions {
		if ok(b) {
			c++
		}
	}
	return c
}

// cpuSeconds is the user and system time the process used so far (/proc/PID/stat).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	check(err)
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// memory is the process's resident set now and at its peak, in MB.
func memory(pid int) (rss, peak float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}

func waitUntil(limit time.Duration, ok func() bool) {
	for deadline := time.Now().Add(limit); !ok(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "follow: timed out")
			os.Exit(1)
		}
	}
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer ln.Close()
	return ln.Addr().String()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "follow:", err)
		os.Exit(1)
	}
}
