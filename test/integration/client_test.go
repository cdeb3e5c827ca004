package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/client"
)

// The Go client against the real server: both idempotent create paths, reads, delete.
func TestGoClient(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := client.New(s.url("/"))
	if v, err := c.Version(ctx); err != nil || v.Version != "0.9.0" {
		t.Fatalf("Version = %+v, %v", v, err)
	}
	req := &client.CreateBatchRequest{File: testdata(t, "jobs/ok.py")}
	b, err := c.CreateBatch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.WaitBatch(ctx, b.ID, 50*time.Millisecond)
	if err != nil || done.State != "success" {
		t.Fatalf("WaitBatch = %+v, %v", done, err)
	}
	log, err := c.BatchLog(ctx, b.ID, -1, 2)
	if err != nil || len(log.Log) != 2 || log.Log[1] != "stub application done" {
		t.Errorf("BatchLog tail = %+v, %v", log, err)
	}
	key := client.NewRequestID()
	first, created, err := c.CreateBatchWithRequestID(ctx, key, req)
	again, createdAgain, err2 := c.CreateBatchWithRequestID(ctx, key, req)
	if err != nil || err2 != nil || !created || createdAgain || first.ID != again.ID {
		t.Errorf("create twice under one requestId: %v %v / %v %v / %v %v", first.ID, created, again.ID, createdAgain, err, err2)
	}
	res, err := c.ReserveBatchID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	put, err := c.PutBatch(ctx, res, req)
	if err != nil || put.ID != res.SessionID {
		t.Errorf("PutBatch = %+v, %v; want id %d", put, err, res.SessionID)
	}
	if err := c.DeleteBatch(ctx, put.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Batch(ctx, put.ID); !client.IsNotFound(err) {
		t.Errorf("Batch after delete: %v, want not found", err)
	}
	list, err := c.Batches(ctx, 0, 10)
	if err != nil || list.Total != 2 {
		t.Errorf("Batches = %+v, %v; want 2", list, err)
	}
}

func runCLI(t *testing.T, s *server, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(cmd.Environ(), "SPARKGATE_URL="+s.url(""))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func TestCLI(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	out, _, code := runCLI(t, s, "submit", testdata(t, "jobs/ok.py"), "arg1", "--conf", "spark.x=1", "--wait")
	if code != 0 || !strings.HasPrefix(out, "0\n") || !strings.Contains(out, "stub application done") || !strings.Contains(out, "arg1") {
		t.Errorf("submit --wait of a good job: exit %d, output %q", code, out)
	}
	out, errOut, code := runCLI(t, s, "submit", "--wait", testdata(t, "jobs/fail.py"))
	if code != 1 || !strings.Contains(out, "Traceback") || !strings.Contains(errOut, "dead") {
		t.Errorf("submit --wait of a failing job: exit %d, %q %q; want exit 1", code, out, errOut)
	}
	out, _, code = runCLI(t, s, "status", "0")
	if code != 0 || !strings.Contains(out, `"state": "success"`) {
		t.Errorf("status: %d %q", code, out)
	}
	out, _, code = runCLI(t, s, "logs", "1")
	if code != 0 || !strings.Contains(out, "RuntimeError: stub failure") {
		t.Errorf("logs: %d %q", code, out)
	}
	if _, _, code = runCLI(t, s, "kill", "0"); code != 0 {
		t.Errorf("kill exit %d", code)
	}
	if _, errOut, code = runCLI(t, s, "status", "0"); code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("status after kill: %d %q", code, errOut)
	}
	// The same requestId twice: one batch.
	a, _, _ := runCLI(t, s, "submit", "--request-id", rid, testdata(t, "jobs/ok.py"))
	b, errOut, _ := runCLI(t, s, "submit", "--request-id", rid, testdata(t, "jobs/ok.py"))
	if a != b || !strings.Contains(errOut, "already existed") {
		t.Errorf("submit twice under one requestId: %q then %q (%q)", a, b, errOut)
	}
}

// The Go client's interactive sessions on real Spark.
func TestGoClientSession(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home})
	ctx, cancel := context.WithTimeout(context.Background(), sparkTimeout)
	defer cancel()
	c := client.New(s.url(""))
	sess, err := c.CreateSession(ctx, &client.CreateSessionRequest{Conf: map[string]client.String{"spark.ui.enabled": "false"}})
	if err != nil {
		t.Fatal(err)
	}
	if sess, err = c.WaitSession(ctx, sess.ID, 100*time.Millisecond); err != nil || sess.State != "idle" {
		t.Fatalf("WaitSession = %+v, %v", sess, err)
	}
	st, err := c.Run(ctx, sess.ID, "spark.range(10).count()", "", 20*time.Millisecond)
	if err != nil || !strings.Contains(string(st.Output), `"text/plain":"10"`) {
		t.Fatalf("Run = %+v (%s), %v", st, st.Output, err)
	}
	// the CLI: run prints an output as the UI shows it, a table as columns, and fails with a
	// failing statement; statements and sessions list; -o json is JSON
	sid := strconv.FormatInt(sess.ID, 10)
	if out, errOut, code := runCLI(t, s, "run", "-s", sid, "spark.range(3).count()"); code != 0 || strings.TrimSpace(out) != "3" {
		t.Errorf("run: %d %q %q", code, out, errOut)
	}
	if out, _, code := runCLI(t, s, "run", "-s", sid, "rows = [(1, 'a'), (22, 'bb')]\n%table rows"); code != 0 ||
		!regexp.MustCompile(`(?m)^1\s+a\s*$`).MatchString(out) || !regexp.MustCompile(`(?m)^22\s+bb\s*$`).MatchString(out) {
		t.Errorf("run %%table: %d\n%s", code, out)
	}
	if out, _, code := runCLI(t, s, "run", "-s", sid, "1/0"); code != 1 || !strings.Contains(out, "ZeroDivisionError") {
		t.Errorf("run 1/0: %d %q", code, out)
	}
	var view map[string]any
	if out, _, code := runCLI(t, s, "run", "-o", "json", "-s", sid, "1+1"); code != 0 || json.Unmarshal([]byte(out), &view) != nil || view["state"] != "available" {
		t.Errorf("run -o json: %d %q", code, out)
	}
	if out, _, code := runCLI(t, s, "statements", "-s", sid); code != 0 || !strings.Contains(out, "[0] available\n> spark.range(10).count()\n10") {
		t.Errorf("statements: %d\n%s", code, out)
	}
	if out, _, code := runCLI(t, s, "sessions"); code != 0 || !strings.HasPrefix(out, "ID") || !strings.Contains(out, "pyspark") {
		t.Errorf("sessions: %d\n%s", code, out)
	}
	var list map[string]any
	if out, _, code := runCLI(t, s, "sessions", "-o", "json"); code != 0 || json.Unmarshal([]byte(out), &list) != nil || list["total"] != 1.0 {
		t.Errorf("sessions -o json: %d %q", code, out)
	}
	if err := c.DeleteSession(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Session(ctx, sess.ID); !client.IsNotFound(err) {
		t.Errorf("Session after delete: %v", err)
	}
}
