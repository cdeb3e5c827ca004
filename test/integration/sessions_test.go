package integration

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"
	"time"
)

// runStatement posts code to a session and waits until it is available, returning its output.
func (s *server) runStatement(sessionID int, body string) map[string]any {
	s.t.Helper()
	r := s.do("POST", fmt.Sprintf("/sessions/%d/statements", sessionID), body)
	if r.status != 201 {
		s.t.Fatalf("POST statement = %d %s", r.status, r.body)
	}
	sid := int(r.json(s.t)["id"].(float64))
	var st map[string]any
	waitFor(s.t, sparkTimeout, fmt.Sprintf("statement %d to be available", sid), func() bool {
		st = s.do("GET", fmt.Sprintf("/sessions/%d/statements/%d", sessionID, sid), "").json(s.t)
		return st["state"] == "available"
	})
	return st["output"].(map[string]any)
}

func textOf(t *testing.T, out map[string]any) string {
	t.Helper()
	if out["status"] != "ok" {
		t.Fatalf("statement failed: %v", out)
	}
	return out["data"].(map[string]any)["text/plain"].(string)
}

func (s *server) sessionState(id int) string {
	r := s.do("GET", fmt.Sprintf("/sessions/%d/state", id), "")
	if r.status != 200 {
		return fmt.Sprintf("http-%d", r.status)
	}
	return r.json(s.t)["state"].(string)
}

// An interactive pyspark session on real Spark: Livy's contract as sparkmagic uses it, state
// kept across statements, SQL results, errors, and a server SIGKILL that the session and its
// variables survive.
func TestInteractiveSessionOnRealSpark(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home})
	// What sparkmagic sends.
	r := s.do("POST", "/sessions", `{"kind":"pyspark","heartbeatTimeoutInSecond":60,"conf":{"spark.ui.enabled":"false"}}`)
	if r.status != 201 || r.header.Get("Location") != "/sessions/0" {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	view := r.json(t)
	for _, key := range []string{"id", "name", "appId", "owner", "proxyUser", "state", "kind", "appInfo", "log", "ttl",
		"idleTimeout", "driverMemory", "conf", "heartbeatTimeoutInSecond", "jars", "pyFiles", "numExecutors", "queue"} {
		if _, ok := view[key]; !ok {
			t.Errorf("session view lacks %q", key)
		}
	}
	if view["kind"] != "pyspark" {
		t.Errorf("kind = %v", view["kind"])
	}
	waitFor(t, sparkTimeout, "the session to be idle", func() bool { return s.sessionState(0) == "idle" })
	idleAt := time.Now()
	if v := s.do("GET", "/sessions/0", "").json(t); !strings.HasPrefix(fmt.Sprint(v["appId"]), "local-") {
		t.Errorf("an idle session's appId = %v, want the driver's local-… application id", v["appId"])
	}

	if got := textOf(t, s.runStatement(0, `{"code":"x = 21"}`)); got != "" {
		t.Errorf("an assignment printed %q, want \"\"", got)
	}
	if got := textOf(t, s.runStatement(0, `{"code":"print('{\"a\": 1}')\nx * 2"}`)); got != "{\"a\": 1}\n42" {
		t.Errorf("print then expression = %q", got)
	}
	if got := textOf(t, s.runStatement(0, `{"code":"sc.parallelize(range(100)).sum()"}`)); got != "4950" {
		t.Errorf("a Spark job = %q, want 4950", got)
	}
	sql := s.runStatement(0, `{"code":"SELECT 1 AS a, 'x' AS b","kind":"sql"}`)
	table, _ := sql["data"].(map[string]any)["application/json"].(map[string]any)
	if table == nil || fmt.Sprint(table["data"]) != "[[1 x]]" || table["schema"] == nil {
		t.Errorf("SQL output = %v", sql)
	}
	failed := s.runStatement(0, `{"code":"1/0"}`)
	if failed["status"] != "error" || failed["ename"] != "ZeroDivisionError" || failed["data"] != nil || len(failed["traceback"].([]any)) == 0 {
		t.Errorf("error output = %v", failed)
	}
	// The Scala interpreter started in the background once the session was idle.
	began := time.Now()
	if got := textOf(t, s.runStatement(0, `{"code":"sc.parallelize(1 to 10).sum()","kind":"scala"}`)); !strings.Contains(got, "55") {
		t.Errorf("a Scala statement in a pyspark session = %q", got)
	}
	t.Logf("first Scala statement in a pyspark session, %s after idle plus five statements: %s", began.Sub(idleAt).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	sessionExtras(t, s, 0)
	waitFor(t, 10*time.Second, "idle after the last statement", func() bool { return s.sessionState(0) == "idle" })

	// The server dies; the driver keeps its state and reconnects to the next server.
	s.kill()
	s.start()
	if st := s.sessionState(0); st != "idle" {
		t.Errorf("after restart the session is %s, want idle", st)
	}
	if got := textOf(t, s.runStatement(0, `{"code":"x"}`)); got != "21" {
		t.Errorf("after restart x = %q, want 21", got)
	}
	// A graceful stop ends the driver's long poll at once instead of waiting for it, and the
	// driver carries on with the next server.
	took, code := s.stopTimed()
	t.Logf("SIGTERM with an open session: exit %d after %s", code, took)
	if code != 0 || took > 2*time.Second {
		t.Errorf("SIGTERM with an open session: exit %d after %s, want 0 within 2s\n%s", code, took, s.output())
	}
	s.start()
	if got := textOf(t, s.runStatement(0, `{"code":"x"}`)); got != "21" {
		t.Errorf("after a graceful restart x = %q, want 21", got)
	}
	if v := s.do("GET", "/sessions/0", "").json(t); !strings.HasPrefix(fmt.Sprint(v["appId"]), "local-") {
		t.Errorf("after restarts the session's appId = %v, want the driver's local-… application id", v["appId"])
	}
	list := s.do("GET", "/sessions/0/statements", "").json(t)
	if list["total_statements"].(float64) != 13 {
		t.Errorf("total_statements = %v, want 13", list["total_statements"])
	}
	page := s.do("GET", "/sessions/0/statements?order=desc&from=1&size=2", "").json(t)
	if ids := fmt.Sprint(page["statements"].([]any)[0].(map[string]any)["id"], page["statements"].([]any)[1].(map[string]any)["id"]); ids != "11 10" {
		t.Errorf("statements order=desc from=1 size=2 = ids %s, want 11 10", ids)
	}

	// Bad inputs.
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/sessions", `{"kind":"cobol"}`, 400},
		{"POST", "/sessions", `{"kind":"sparkr"}`, 400},
		{"POST", "/sessions/0/statements", `{}`, 400},
		{"POST", "/sessions/0/statements", `{"code":"1","kind":"shared"}`, 400},
		{"POST", "/sessions/9/statements", `{"code":"1"}`, 404},
		{"GET", "/sessions/0/statements/99", ``, 404},
		{"POST", "/sessions/0/submit-job", `{}`, 501},
		{"GET", "/driver/sessions/0/next", ``, 403},
		{"POST", "/sessions/0/statements/99/cancel", ``, 404},
		{"POST", "/sessions/0/completion", `{"code":"ab","cursor":3}`, 400},
		{"POST", "/sessions/0/add-pyfile", `{"uri":"/etc/passwd"}`, 400},
		{"POST", "/sessions/0/add-file", `{}`, 400},
		{"POST", "/sessions/0/upload-file", `not a form`, 400},
	} {
		if r := s.do(c.method, c.path, c.body); r.status != c.status {
			t.Errorf("%s %s %s = %d %s, want %d", c.method, c.path, c.body, r.status, r.body, c.status)
		}
	}

	dirs := appDirOf(t, s, "session", 0)
	if r := s.do("DELETE", "/sessions/0", ""); r.status != 200 {
		t.Fatalf("DELETE = %d", r.status)
	}
	if r := s.do("GET", "/sessions/0", ""); r.status != 404 {
		t.Errorf("GET after DELETE = %d", r.status)
	}
	waitFor(t, 30*time.Second, "the driver's processes to end", func() bool { return len(processesWithTag(dirs)) == 0 })
	if r := s.do("POST", "/sessions/0/statements", `{"code":"1"}`); r.status != 404 {
		t.Errorf("statement on a deleted session = %d", r.status)
	}
}

// sessionExtras drives, on an idle pyspark session, what notebooks use beyond plain statements:
// magics, cancel, progress, completion, add-pyfile and upload-file. It runs 5 statements.
func sessionExtras(t *testing.T, s *server, id int) {
	path := fmt.Sprintf("/sessions/%d", id)
	tbl := s.runStatement(id, `{"code":"rows = [{'a': 1, 'b': 'x'}, {'a': 2, 'b': None}]\n%table rows"}`)
	if got := fmt.Sprint(tbl["data"].(map[string]any)["application/vnd.livy.table.v1+json"]); got !=
		"map[data:[[1 x] [2 <nil>]] headers:[map[name:a type:INT_TYPE] map[name:b type:STRING_TYPE]]]" {
		t.Errorf("%%table = %s", got)
	}
	js := s.runStatement(id, `{"code":"%json {'k': [1, 2]}"}`)["data"].(map[string]any)
	if fmt.Sprint(js["application/json"]) != "map[k:[1 2]]" || js["text/plain"] != "" {
		t.Errorf("%%json = %v", js)
	}

	// A long Spark job, cancelled while it runs: cancelled, its progress shown, the session idle
	// again and its variables intact.
	r := s.do("POST", path+"/statements", `{"code":"import time\nsc.parallelize(range(4), 4).map(lambda x: time.sleep(2 if x == 0 else 300)).count()"}`)
	sid := int(r.json(t)["id"].(float64))
	stmt := fmt.Sprintf("%s/statements/%d", path, sid)
	waitFor(t, sparkTimeout, "the long statement to report progress", func() bool {
		p, _ := s.do("GET", stmt, "").json(t)["progress"].(float64)
		return p > 0 && p < 1
	})
	if r := s.do("POST", stmt+"/cancel", ""); r.status != 200 || string(r.body) != "{\"msg\":\"canceled\"}\n" {
		t.Errorf("cancel = %d %s", r.status, r.body)
	}
	waitFor(t, 30*time.Second, "the statement to be cancelled", func() bool { return s.do("GET", stmt, "").json(t)["state"] == "cancelled" })
	waitFor(t, 10*time.Second, "idle after the cancel", func() bool { return s.sessionState(id) == "idle" })
	if got := textOf(t, s.runStatement(id, `{"code":"x"}`)); got != "21" {
		t.Errorf("after a cancel x = %q, want 21", got)
	}

	r = s.do("POST", path+"/completion", `{"code":"sc.paralle","kind":"pyspark","cursor":10}`)
	if got := fmt.Sprint(r.json(t)["candidates"]); r.status != 200 || !strings.Contains(got, "sc.parallelize") {
		t.Errorf("completion = %d %s", r.status, r.body)
	}

	addAndUseFiles(t, s, id)
}

// addAndUseFiles adds a whitelisted Python module (add-pyfile) and uploads a file
// (upload-file) to session id, then imports the one and reads the other in a statement.
func addAndUseFiles(t *testing.T, s *server, id int) {
	t.Helper()
	path := fmt.Sprintf("/sessions/%d", id)
	if r := s.do("POST", path+"/add-pyfile", fmt.Sprintf(`{"uri":%q}`, testdata(t, "jobs/greeting.py"))); r.status != 200 {
		t.Errorf("add-pyfile = %d %s", r.status, r.body)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "notes.txt")
	fw.Write([]byte("uploaded words"))
	mw.Close()
	if r := s.do("POST", path+"/upload-file", form.String(), "Content-Type", mw.FormDataContentType()); r.status != 200 {
		t.Errorf("upload-file = %d %s", r.status, r.body)
	}
	got := textOf(t, s.runStatement(id, `{"code":"import greeting\nfrom pyspark import SparkFiles\nprint(greeting.greet('spark'))\nopen(SparkFiles.get('notes.txt')).read()"}`))
	if got != "hello, spark\n'uploaded words'" {
		t.Errorf("added module and uploaded file = %q", got)
	}
}

// A driver whose gateway never comes back exits after --driver-gateway-timeout instead of
// holding its memory forever; when a gateway returns, the session reads dead with the reason.
func TestDriverGivesUpOnAGatewayThatNeverReturns(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home, args: []string{"--driver-gateway-timeout", "3s"}})
	if r := s.do("POST", "/sessions", `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`); r.status != 201 {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	waitFor(t, sparkTimeout, "the session to be idle", func() bool { return s.sessionState(0) == "idle" })
	dir := appDirOf(t, s, "session", 0)
	s.kill()
	gone := time.Now()
	waitFor(t, time.Minute, "the driver to give up", func() bool { return len(processesWithTag(dir)) == 0 })
	t.Logf("driver gone %s after its gateway (limit 3s)", time.Since(gone).Round(100*time.Millisecond))
	s.start()
	waitFor(t, 10*time.Second, "the session to read dead", func() bool { return s.sessionState(0) == "dead" })
	if log := s.do("GET", "/sessions/0/log?from=0&size=10000", ""); !strings.Contains(string(log.body), "no gateway answered") {
		t.Errorf("the session's log does not say why its driver ended:\n%s", log.body)
	}
}
