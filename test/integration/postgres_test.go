package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
)

// The server on the PostgreSQL store: batches, both idempotent creates, and a restart.
func TestServerOnPostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	markers := t.TempDir()
	s := startServer(t, serverOpts{store: db, sparkHome: testdata(t, "stubspark"), env: []string{"STUB_MARKER_DIR=" + markers}})
	body := `{"file":"` + testdata(t, "jobs/ok.py") + `"}`
	id := s.createBatch(body)
	s.waitState(id, 30*time.Second, "success")
	if r := s.do("PUT", "/batches", body, "requestId", rid); r.status != 201 {
		t.Fatalf("PUT = %d %s", r.status, r.body)
	}
	res := s.do("POST", "/batches/id", "").json(t)
	putKey := res["putKey"].(string)
	path := fmt.Sprintf("/batches/%d", int(res["sessionId"].(float64)))
	if r := s.do("PUT", path, `{"file":"`+testdata(t, "jobs/ok.py")+`","putKey":"`+putKey+`"}`); r.status != 201 {
		t.Fatalf("PUT %s = %d %s", path, r.status, r.body)
	}
	s.kill()
	s.start()
	if r := s.do("PUT", "/batches", body, "requestId", rid); r.status != 200 {
		t.Errorf("replay after restart = %d %s", r.status, r.body)
	}
	for i := range 3 {
		s.waitState(i, 30*time.Second, "success")
	}
	if list := s.do("GET", "/batches", "").json(t); list["total"].(float64) != 3 {
		t.Errorf("total = %v, want 3", list["total"])
	}
	if files, _ := filepath.Glob(filepath.Join(markers, "*")); len(files) != 3 {
		t.Errorf("%d applications ran, want 3", len(files))
	}
}

// Three instances on one database, real Spark: 40 identical PUTs spread over them get one
// 201 and one Spark application, because the key is unique in the database, not in any
// process; and a reserved id can be put through another instance than the one that reserved it.
func TestThreeInstancesOnePostgres(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	db := pgtest.URL(t)
	data := t.TempDir()
	markers := t.TempDir()
	var servers []*server
	for i := range 3 {
		servers = append(servers, startServer(t, serverOpts{store: db, dataDir: data, sparkHome: home,
			args: []string{"--instance-id", fmt.Sprintf("i%d", i)}}))
	}
	body := fmt.Sprintf(`{"file":"%s","args":["%s","once"],"conf":{"spark.ui.enabled":"false"}}`, testdata(t, "jobs/marker.py"), markers)
	const n = 40
	count, ids := concurrentPuts(t, servers, "/batches", body, rid, n)
	if count[201] != 1 || count[200] != n-1 || len(ids) != 1 {
		t.Fatalf("statuses %v naming batches %v, want one 201, %d × 200, one batch", count, ids, n-1)
	}
	// Reserve on one instance, put through another, repeat through the third.
	res := servers[0].do("POST", "/batches/id", "").json(t)
	path := fmt.Sprintf("/batches/%d", int(res["sessionId"].(float64)))
	okBody := `{"file":"` + testdata(t, "jobs/ok.py") + `","putKey":"` + res["putKey"].(string) + `"}`
	if r := servers[1].do("PUT", path, okBody); r.status != 201 {
		t.Errorf("PUT through another instance = %d %s", r.status, r.body)
	}
	if r := servers[2].do("PUT", path, okBody); r.status != 200 {
		t.Errorf("repeat through a third instance = %d %s", r.status, r.body)
	}
	if got := servers[2].waitState(int(ids[0]), sparkTimeout, "success", "dead"); got != "success" {
		t.Fatalf("the batch ended %s", got)
	}
	if list := servers[1].do("GET", "/batches", "").json(t); list["total"].(float64) != 2 {
		t.Errorf("total = %v, want 2", list["total"])
	}
	m, _ := os.ReadFile(filepath.Join(markers, "once"))
	if c := strings.Count(string(m), "ran "); c != 1 {
		t.Errorf("the Spark application ran %d times, want once", c)
	}
}
