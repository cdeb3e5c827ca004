package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What a web page can make a browser send — a cross-site text/plain or form POST, a DNS
// rebinding to the loopback server — creates nothing; an over-large header block is Livy's
// JSON 431. curl -d without a Content-Type still creates.
func TestTheEdgeRefusesWhatBrowsersCanBeMadeToSend(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	body := `{"file":"` + testdata(t, "jobs/ok.py") + `"}`
	cases := []struct {
		name    string
		headers []string
		want    int
	}{
		{"text/plain from another site", []string{"Content-Type", "text/plain", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, 403},
		{"text/plain, no Origin (an old browser)", []string{"Content-Type", "text/plain"}, 415},
		{"a form from another site", []string{"Content-Type", "application/x-www-form-urlencoded", "Origin", "https://evil.example"}, 403},
		{"DNS rebinding", []string{"Host", "evil.example:8998"}, 403},
	}
	for _, c := range cases {
		if r := s.do("POST", "/batches", body, c.headers...); r.status != c.want || r.json(t)["msg"] == nil {
			t.Errorf("%s: %d %s, want %d with a msg", c.name, r.status, r.body, c.want)
		}
	}
	if page := s.do("GET", "/batches", "").json(t); page["total"] != float64(0) {
		t.Errorf("after the refusals: %v batches, want none", page["total"])
	}
	if r := s.do("POST", "/batches", body, "Content-Type", "application/x-www-form-urlencoded"); r.status != 201 {
		t.Errorf("curl -d (a form type, from no browser): %d %s", r.status, r.body)
	}
	if r := s.do("GET", "/batches", "", "X-Padding", strings.Repeat("x", 100<<10)); r.status != 431 || r.json(t)["msg"] == nil {
		t.Errorf("a 100 KiB header: %d %s, want Livy's JSON 431", r.status, r.body)
	}
}

// 10 000 connections that send nothing, and a client trickling its body, do not keep a
// normal client out: over --max-connections, the connection waiting longest without a
// request is closed. The server may open 4096 files (as a modest ulimit allows): without
// the bound, the silent connections would take them all and the normal client would wait
// unaccepted. Loopback only, bounded.
func TestSilentConnectionsDoNotKeepAClientOut(t *testing.T) {
	t.Parallel()
	silent := 10000
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < uint64(silent)+500 {
		silent = int(lim.Cur) - 500 // this process's own files bound it
		t.Logf("%d silent connections: this process may open %d files", silent, lim.Cur)
	}
	if silent < 5000 || lim.Max < 4096 {
		t.Skipf("this process may open %d files: too few to outnumber the server's 4096", lim.Cur)
	}
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark"), args: []string{"--max-connections", "1000"},
		prefix: []string{"prlimit", "--nofile=4096:4096", "--"}})
	slow, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "POST /batches HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", s.addr)
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range silent {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(idle), err)
		}
		idle = append(idle, c)
	}
	client := &http.Client{Timeout: 5 * time.Second} // without the bound: served only once the header timeout (10 s) closes the silent ones
	start := time.Now()
	resp, err := client.Get(s.url("/version"))
	if err != nil {
		t.Fatalf("a normal client beside 10 000 silent connections: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a normal client: %d", resp.StatusCode)
	}
	t.Logf("served in %s beside %d silent connections and a trickling body", time.Since(start).Round(time.Millisecond), silent)
}

// /metrics can have a listener of its own (--metrics-addr), unauthenticated, for a Prometheus
// on a private network; the API's address then serves no /metrics, and keeps authenticating.
func TestMetricsOnAnAddressOfTheirOwn(t *testing.T) {
	t.Parallel()
	metrics := freeAddr(t)
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark"), args: []string{"--metrics-addr", metrics,
		"--auth", "basic", "--htpasswd", htpasswdFile(t, map[string]string{"alice": "pw"})}})
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "sparkgate_http_requests_total") {
		t.Errorf("GET /metrics on --metrics-addr: %d", resp.StatusCode)
	}
	if r := s.do("GET", "/metrics", ""); r.status != 401 {
		t.Errorf("GET /metrics on the API without credentials: %d, want 401", r.status)
	}
	if r := s.do("GET", "/metrics", "", "Authorization", "Basic "+basicHeader("alice", "pw")); r.status != 404 {
		t.Errorf("GET /metrics on the API: %d, want 404 (it lives on --metrics-addr)", r.status)
	}
}
