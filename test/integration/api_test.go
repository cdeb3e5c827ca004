package integration

import (
	"fmt"
	"os/user"
	"strings"
	"testing"
	"time"
)

// Every bad input gets a clear 4xx with a {"msg"} body, and creates nothing.
func TestBadInputsAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark"), args: []string{"--max-body-bytes", "4096"}})
	job := testdata(t, "jobs/fail.py")
	long := strings.Repeat("x", 5000)
	cases := []struct {
		name, method, path, body string
		status                   int
		msg                      string
	}{
		{"malformed JSON", "POST", "/batches", `{"file": `, 400, "not valid JSON"},
		{"not an object", "POST", "/batches", `[1]`, 400, "JSON object"},
		{"empty body", "POST", "/batches", ``, 400, "empty"},
		{"trailing data", "POST", "/batches", `{"file":"` + job + `"} {}`, 400, "after its JSON value"},
		{"unknown field", "POST", "/batches", `{"file":"` + job + `","fiel":"x"}`, 400, `unknown field "fiel"`},
		{"wrong type", "POST", "/batches", `{"file":"` + job + `","driverCores":"two"}`, 400, `"driverCores" must be an integer`},
		{"args not a list", "POST", "/batches", `{"file":"` + job + `","args":"a"}`, 400, `"args" must be an array`},
		{"conf value an object", "POST", "/batches", `{"file":"` + job + `","conf":{"a":{}}}`, 400, `conf`},
		{"missing file", "POST", "/batches", `{"args":["1"]}`, 400, "File is required"},
		{"relative path", "POST", "/batches", `{"file":"jobs/fail.py"}`, 400, "is not absolute"},
		{"path outside the whitelist", "POST", "/batches", `{"file":"/etc/passwd"}`, 400, "cannot be added to user sessions"},
		{"dot-dot escape", "POST", "/batches", `{"file":"` + testdata(t, "jobs") + `/../../harness_test.go"}`, 400, "cannot be added"},
		{"jar outside the whitelist", "POST", "/batches", `{"file":"` + job + `","jars":["/etc/x.jar"]}`, 400, "cannot be added"},
		{"blacklisted conf", "POST", "/batches", `{"file":"` + job + `","conf":{"spark.master":"yarn","spark.submit.deployMode":"cluster"}}`, 400, "Blacklisted configuration values in session config: spark.master, spark.submit.deployMode"},
		{"numeric name", "POST", "/batches", `{"file":"` + job + `","name":"123"}`, 400, "Invalid session name"},
		{"bad memory", "POST", "/batches", `{"file":"` + job + `","driverMemory":"--evil"}`, 400, "memory size"},
		{"zero cores", "POST", "/batches", `{"file":"` + job + `","executorCores":0}`, 400, "executorCores"},
		// what a JSON library lets through, and names that cannot be told apart or addressed
		{"a field in another case", "POST", "/batches", `{"FILE":"` + job + `"}`, 400, `did you mean "file"`},
		{"a field given twice", "POST", "/batches", `{"file":"` + job + `","file":"/etc/passwd"}`, 400, "given twice"},
		{"invalid UTF-8", "POST", "/batches", "{\"file\":\"" + job + "\",\"name\":\"a\xffb\"}", 400, "not valid UTF-8"},
		{"a name that reads as an id", "POST", "/batches", `{"file":"` + job + `","name":"-5"}`, 400, "Invalid session name"},
		{"a dot-dot name", "POST", "/batches", `{"file":"` + job + `","name":".."}`, 400, "cannot be addressed"},
		{"an invisible character in a name", "POST", "/batches", `{"file":"` + job + `","name":"etl\u200b"}`, 400, "format"},
		{"a bidi override in a name", "POST", "/batches", `{"file":"` + job + `","name":"\u202egnp.exe"}`, 400, "format"},
		{"memory beyond Spark's", "POST", "/batches", `{"file":"` + job + `","driverMemory":"99999999999999999999g"}`, 400, "outside what Spark takes"},
		{"body too large", "POST", "/batches", `{"file":"` + job + `","name":"` + long + `"}`, 413, "larger than"},
		{"non-numeric from", "GET", "/batches?from=1e3", ``, 400, "from must be an integer"},
		{"non-numeric size", "GET", "/batches?size=ten", ``, 400, "size must be an integer"},
		{"negative id", "GET", "/batches/-1", ``, 400, "invalid session id"},
		{"huge id", "GET", "/batches/99999999999999999999", ``, 400, "too large"},
		{"unknown id", "GET", "/batches/42", ``, 404, "Session '42' not found."},
		{"unknown name", "GET", "/batches/nightly", ``, 404, "not found"},
		{"log of unknown", "GET", "/batches/42/log", ``, 404, "not found"},
		{"log non-numeric size", "GET", "/batches/42/log?size=-", ``, 400, "size"},
		{"delete unknown", "DELETE", "/batches/42", ``, 404, "not found"},
		{"unknown route", "GET", "/nope", ``, 404, "no route"},
		{"wrong method", "PATCH", "/batches", ``, 405, "not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(c.method, c.path, c.body, "Content-Type", "application/json")
			if r.status != c.status {
				t.Fatalf("%s %s = %d %s, want %d", c.method, c.path, r.status, r.body, c.status)
			}
			msg, _ := r.json(t)["msg"].(string)
			if !strings.Contains(msg, c.msg) {
				t.Errorf("msg = %q, want it to contain %q", msg, c.msg)
			}
		})
	}
	list := s.do("GET", "/batches", "").json(t)
	if list["total"].(float64) != 0 || len(list["sessions"].([]any)) != 0 {
		t.Errorf("bad inputs created batches: %v", list)
	}
	// The id counter did not move either: the next batch is 0.
	if id := s.createBatch(`{"file":"` + job + `"}`); id != 0 {
		t.Errorf("first batch after refused requests has id %d, want 0", id)
	}
}

// Livy's contract details that clients index directly.
func TestBatchViewsAndPaging(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	job := testdata(t, "jobs/ok.py")
	for i := range 3 {
		s.createBatch(fmt.Sprintf(`{"file":"%s","name":"job-%d"}`, job, i))
	}
	r := s.do("POST", "/batches/", `{"file":"`+job+`","name":"job-0"}`)
	if r.status != 400 || !strings.Contains(r.json(t)["msg"].(string), "Duplicate session name") {
		t.Errorf("duplicate name: %d %s", r.status, r.body)
	}
	r = s.do("GET", "/batches?from=1&size=1", "", "Content-Type", "application/json")
	list := r.json(t)
	if list["from"].(float64) != 1 || list["total"].(float64) != 3 || len(list["sessions"].([]any)) != 1 {
		t.Fatalf("page = %s", r.body)
	}
	view := list["sessions"].([]any)[0].(map[string]any)
	for _, key := range []string{"id", "name", "owner", "proxyUser", "state", "appId", "appInfo", "log"} {
		if _, ok := view[key]; !ok {
			t.Errorf("batch view lacks %q: %v", key, view)
		}
	}
	for _, key := range []string{"driverLogUrl", "sparkUiUrl", "executorLogUrls"} {
		if _, ok := view["appInfo"].(map[string]any)[key]; !ok {
			t.Errorf("appInfo lacks %q", key)
		}
	}
	if view["id"].(float64) != 1 || view["name"] != "job-1" {
		t.Errorf("second batch = %v", view)
	}
	byName := s.do("GET", "/batches/job-2", "").json(t)
	if byName["id"].(float64) != 2 {
		t.Errorf("lookup by name = %v", byName)
	}
	s.waitState(2, 30*time.Second, "success")
	logPage := s.do("GET", "/batches/2/log", "").json(t)
	total := int(logPage["total"].(float64))
	if total == 0 || int(logPage["from"].(float64)) != 0 {
		t.Errorf("log = %v", logPage)
	}
	// a size whose sum with from overflows is answered as a page to the end, and leaves every
	// list and view answering
	for q, want := range map[string]int{"from=1&size=9223372036854775807": total - 1, "size=9223372036854775807": total} {
		huge := s.do("GET", "/batches/2/log?"+q, "")
		if lines := huge.json(t)["log"].([]any); huge.status != 200 || len(lines) != want {
			t.Errorf("log?%s: %d, %d lines, want %d", q, huge.status, len(lines), want)
		}
	}
	if l := s.do("GET", "/batches", ""); l.status != 200 || l.json(t)["total"].(float64) != 3 {
		t.Errorf("list after an overflowing log page: %d %s", l.status, l.body)
	}
	if v := s.do("GET", "/batches/2", ""); v.status != 200 {
		t.Errorf("view after an overflowing log page: %d %s", v.status, v.body)
	}
	atEnd := s.do("GET", fmt.Sprintf("/batches/2/log?from=%d", total), "")
	if atEnd.status != 200 || len(atEnd.json(t)["log"].([]any)) != 0 {
		t.Errorf("log from=total: %d %s, want 200 and an empty log", atEnd.status, atEnd.body)
	}
	if d := s.do("DELETE", "/batches/2", "", "Content-Type", "application/json"); d.status != 200 || string(d.body) != "{\"msg\":\"deleted\"}\n" {
		t.Errorf("DELETE = %d %s", d.status, d.body)
	}
	if g := s.do("GET", "/batches/2", ""); g.status != 404 {
		t.Errorf("GET after DELETE = %d, want 404", g.status)
	}
	if list := s.do("GET", "/batches", "").json(t); list["total"].(float64) != 2 {
		t.Errorf("total after DELETE = %v, want 2", list["total"])
	}
}

// With --csrf-protection, as with Livy's option, changes need X-Requested-By; reads do not.
func TestCSRFProtection(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark"), args: []string{"--csrf-protection"}})
	body := `{"file":"` + testdata(t, "jobs/ok.py") + `"}`
	if r := s.do("POST", "/batches", body); r.status != 400 || !strings.Contains(string(r.body), "X-Requested-By") {
		t.Errorf("POST without the header = %d %s, want 400", r.status, r.body)
	}
	if r := s.do("POST", "/batches", body, "X-Requested-By", "me"); r.status != 201 {
		t.Errorf("POST with the header = %d %s", r.status, r.body)
	}
	if r := s.do("GET", "/batches/0", ""); r.status != 200 {
		t.Errorf("GET = %d, want 200 without the header", r.status)
	}
}

// /version has Livy's keys, and does not tell which OS user the server runs as.
func TestVersionTellsNoOSUser(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	v := s.do("GET", "/version", "").json(t)
	if v["version"] != "0.9.0" || v["user"] != "" {
		t.Errorf("/version = %v; want Livy's version and an empty user", v)
	}
	if u, err := user.Current(); err == nil && strings.Contains(fmt.Sprint(v), `:`+u.Username+` `) {
		t.Errorf("/version tells the OS user %q: %v", u.Username, v)
	}
}

// A session's view shows its conf as Spark's UI would: what names a secret is redacted.
func TestSessionViewsRedactSecrets(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	r := s.do("POST", "/sessions", `{"kind":"pyspark","conf":{"spark.hadoop.fs.s3a.secret.key":"abc","spark.x":"password=hunter2","spark.y":"kept"}}`)
	if r.status != 201 {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	for _, path := range []string{"/sessions/0", "/sessions"} {
		body := string(s.do("GET", path, "").body)
		if strings.Contains(body, "abc") || strings.Contains(body, "hunter2") || !strings.Contains(body, `"spark.y":"kept"`) ||
			!strings.Contains(body, `"spark.x":"*********(redacted)"`) {
			t.Errorf("GET %s shows the conf as %s", path, body)
		}
	}
}
