package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const rid = "0F8FAD5B-D9CB-469F-A165-70867728950E" // upper case on purpose: GUIDs are any case

func TestPutWithRequestID(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	body := `{"file":"` + testdata(t, "jobs/ok.py") + `","args":["a"],"conf":{"x.a":"1","x.b":"2"}}`
	refused := []struct {
		name    string
		headers []string
		body    string
		status  int
		msg     string
	}{
		{"no header", nil, body, 400, "needs a requestId header"},
		{"not a GUID", []string{"requestId", "retry-1"}, body, 400, "is not a GUID"},
		{"GUID without hyphens", []string{"requestId", "0f8fad5bd9cb469fa16570867728950e"}, body, 400, "is not a GUID"},
		{"two different keys", []string{"requestId", rid, "Idempotency-Key", "1f8fad5b-d9cb-469f-a165-70867728950e"}, body, 400, "differ"},
		{"putKey in body", []string{"requestId", rid}, `{"file":"/x","putKey":"k"}`, 400, "putKey is only accepted by PUT /batches/{id}"},
		{"bad body", []string{"requestId", rid}, `{"file":`, 400, "not valid JSON"},
	}
	for _, c := range refused {
		r := s.do("PUT", "/batches", c.body, c.headers...)
		if r.status != c.status || !strings.Contains(string(r.body), c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, r.status, r.body, c.status, c.msg)
		}
	}

	first := s.do("PUT", "/batches", body, "requestId", rid)
	if first.status != 201 || first.header.Get("Location") != "/batches/0" {
		t.Fatalf("first PUT = %d %s (Location %q)", first.status, first.body, first.header.Get("Location"))
	}
	s.waitState(0, 30*time.Second, "success")
	replays := []struct {
		name, path, body string
		headers          []string
	}{
		{"same", "/batches", body, []string{"requestId", rid}},
		{"lower case, trailing slash", "/batches/", body, []string{"requestId", strings.ToLower(rid)}},
		{"IETF alias, quoted", "/batches", body, []string{"Idempotency-Key", `"` + rid + `"`}},
		{"both headers agreeing", "/batches", body, []string{"requestId", rid, "Idempotency-Key", rid}},
		{"keys reordered, explicit defaults", "/batches", `{"conf":{"x.b":"2","x.a":1},"jars":[],"args":["a"],"name":null,"file":"` + testdata(t, "jobs/ok.py") + `"}`, []string{"requestId", rid}},
	}
	for _, c := range replays {
		r := s.do("PUT", c.path, c.body, c.headers...)
		if r.status != 200 || r.json(t)["id"].(float64) != 0 || r.json(t)["state"] != "success" {
			t.Errorf("%s: %d %s, want 200 with batch 0 as it is now (success)", c.name, r.status, r.body)
		}
	}
	metrics := string(s.do("GET", "/metrics", "").body)
	for _, want := range []string{`sparkgate_session_creates_total{kind="batch",outcome="created"} 1`,
		`sparkgate_session_creates_total{kind="batch",outcome="replayed"} 5`,
		`sparkgate_http_requests_total{code="200",route="PUT /batches"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	r := s.do("PUT", "/batches", `{"file":"`+testdata(t, "jobs/ok.py")+`","args":["b"]}`, "requestId", rid)
	if r.status != 422 || !strings.Contains(r.json(t)["msg"].(string), "different request") {
		t.Errorf("same requestId, other request: %d %s, want 422", r.status, r.body)
	}
	if d := s.do("DELETE", "/batches/0", ""); d.status != 200 {
		t.Fatalf("DELETE: %d", d.status)
	}
	r = s.do("PUT", "/batches", body, "requestId", rid)
	if r.status != 200 || r.json(t)["id"].(float64) != 0 {
		t.Errorf("replay after DELETE: %d %s, want 200 with batch 0's last view", r.status, r.body)
	}
	if list := s.do("GET", "/batches", "").json(t); list["total"].(float64) != 0 {
		t.Errorf("replays created batches: total %v", list["total"])
	}
	// A new key is a new batch, with the next id.
	if r := s.do("PUT", "/batches", body, "requestId", "2f8fad5b-d9cb-469f-a165-70867728950e"); r.status != 201 || r.json(t)["id"].(float64) != 1 {
		t.Errorf("new key: %d %s", r.status, r.body)
	}
}

// 40 identical PUTs at once: exactly one 201, 39 replays, one batch, one application.
func TestConcurrentIdenticalPuts(t *testing.T) {
	t.Parallel()
	markers := t.TempDir()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark"), env: []string{"STUB_MARKER_DIR=" + markers}})
	body := `{"file":"` + testdata(t, "jobs/ok.py") + `"}`
	const n = 40
	count, ids := concurrentPuts(t, []*server{s}, "/batches", body, rid, n)
	if count[201] != 1 || count[200] != n-1 || len(ids) != 1 {
		t.Fatalf("statuses %v naming batches %v, want one 201, %d × 200, one batch", count, ids, n-1)
	}
	s.waitState(0, 30*time.Second, "success")
	if list := s.do("GET", "/batches", "").json(t); list["total"].(float64) != 1 {
		t.Errorf("total = %v, want 1", list["total"])
	}
	files, _ := filepath.Glob(filepath.Join(markers, "*"))
	if len(files) != 1 {
		t.Errorf("%d applications ran, want 1", len(files))
	}
}

func TestReserveThenPut(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	body := `{"file":"` + testdata(t, "jobs/ok.py") + `"`
	s.createBatch(body + `}`) // id 0
	res := s.do("POST", "/batches/id", "")
	if res.status != 201 {
		t.Fatalf("POST /batches/id = %d %s", res.status, res.body)
	}
	m := res.json(t)
	id, putKey := int(m["sessionId"].(float64)), m["putKey"].(string)
	if id != 1 || len(putKey) != 36 {
		t.Fatalf("reservation = %v, want id 1 and a GUID", m)
	}
	if r := s.do("GET", fmt.Sprintf("/batches/%d", id), ""); r.status != 404 {
		t.Errorf("GET of a reserved id = %d, want 404", r.status)
	}
	if list := s.do("GET", "/batches", "").json(t); list["total"].(float64) != 1 {
		t.Errorf("a reserved id is listed: total %v", list["total"])
	}
	path := fmt.Sprintf("/batches/%d", id)
	cases := []struct {
		name, path, body string
		status           int
		msg              string
	}{
		{"no putKey", path, body + `}`, 400, "in the body: the one POST /batches/id returned"},
		{"wrong putKey", path, body + `,"putKey":"0f8fad5b-d9cb-469f-a165-70867728950e"}`, 403, "does not match"},
		{"never reserved", "/batches/77", body + `,"putKey":"` + putKey + `"}`, 404, "is not reserved"},
		{"a plain id", "/batches/0", body + `,"putKey":"` + putKey + `"}`, 404, "is not reserved"},
		{"putKey on POST", "/batches", body + `,"putKey":"` + putKey + `"}`, 400, "only accepted by PUT"},
	}
	for _, c := range cases {
		method := "PUT"
		if c.name == "putKey on POST" {
			method = "POST"
		}
		r := s.do(method, c.path, c.body)
		if r.status != c.status || !strings.Contains(string(r.body), c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, r.status, r.body, c.status, c.msg)
		}
	}
	put := s.do("PUT", path, body+`,"putKey":"`+putKey+`"}`)
	if put.status != 201 || put.json(t)["id"].(float64) != float64(id) || put.header.Get("Location") != path {
		t.Fatalf("PUT with the putKey = %d %s", put.status, put.body)
	}
	again := s.do("PUT", path, body+`,"putKey":"`+putKey+`"}`)
	if again.status != 200 || again.json(t)["id"].(float64) != float64(id) {
		t.Errorf("repeat = %d %s, want 200 and the same batch", again.status, again.body)
	}
	other := s.do("PUT", path, `{"file":"`+testdata(t, "jobs/fail.py")+`","putKey":"`+putKey+`"}`)
	if other.status != 422 {
		t.Errorf("repeat with another body = %d %s, want 422", other.status, other.body)
	}
	if list := s.do("GET", "/batches", "").json(t); list["total"].(float64) != 2 {
		t.Errorf("total = %v, want 2", list["total"])
	}
}

// Both proposals for interactive sessions. The stub's "driver" ends at once, so the sessions
// end dead, which changes nothing about creating them exactly once.
func TestIdempotentSessions(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark")})
	body := `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`
	count, ids := concurrentPuts(t, []*server{s}, "/sessions", body, rid, 40)
	if count[201] != 1 || count[200] != 39 || len(ids) != 1 {
		t.Fatalf("40 identical PUT /sessions: %v naming sessions %v, want one 201 and 39 × 200", count, ids)
	}
	if r := s.do("PUT", "/sessions", `{"kind":"sql"}`, "requestId", rid); r.status != 422 {
		t.Errorf("same requestId, another kind = %d %s, want 422", r.status, r.body)
	}
	if r := s.do("PUT", "/sessions/", `{"conf":{"spark.ui.enabled":"false"},"kind":"python"}`, "requestId", strings.ToLower(rid)); r.status != 200 {
		t.Errorf("same request with an alias kind and reordered keys = %d %s, want 200", r.status, r.body)
	}
	if r := s.do("PUT", "/sessions", body); r.status != 400 {
		t.Errorf("PUT /sessions without requestId = %d", r.status)
	}
	res := s.do("POST", "/sessions/id", "")
	if res.status != 201 {
		t.Fatalf("POST /sessions/id = %d %s", res.status, res.body)
	}
	m := res.json(t)
	path := fmt.Sprintf("/sessions/%d", int(m["sessionId"].(float64)))
	if r := s.do("GET", path, ""); r.status != 404 {
		t.Errorf("GET of a reserved session id = %d, want 404", r.status)
	}
	withKey := func(key string) string { return `{"kind":"pyspark","putKey":"` + key + `"}` }
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"PUT", path, `{"kind":"pyspark"}`, 400},
		{"PUT", path, withKey(rid), 403},
		{"PUT", "/sessions/77", withKey(m["putKey"].(string)), 404},
		{"POST", "/sessions", withKey(m["putKey"].(string)), 400},
		{"PUT", path, withKey(m["putKey"].(string)), 201},
		{"PUT", path, withKey(m["putKey"].(string)), 200},
		{"PUT", path, `{"kind":"sql","putKey":"` + m["putKey"].(string) + `"}`, 422},
	} {
		if r := s.do(c.method, c.path, c.body); r.status != c.status {
			t.Errorf("%s %s %s = %d %s, want %d", c.method, c.path, c.body, r.status, r.body, c.status)
		}
	}
	if list := s.do("GET", "/sessions", "").json(t); list["total"].(float64) != 2 {
		t.Errorf("total = %v, want 2", list["total"])
	}
}
