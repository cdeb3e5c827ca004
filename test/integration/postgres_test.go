package integration

import (
	"fmt"
	"path/filepath"
	"sync"
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

// Two instances on one database: 40 identical PUTs spread over both get one 201 and one
// batch, because the key is unique in the database, not in either process.
func TestConcurrentPutsAcrossTwoInstances(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	markers := t.TempDir()
	env := []string{"STUB_MARKER_DIR=" + markers}
	a := startServer(t, serverOpts{store: db, sparkHome: testdata(t, "stubspark"), env: env})
	b := startServer(t, serverOpts{store: db, sparkHome: testdata(t, "stubspark"), env: env})
	body := `{"file":"` + testdata(t, "jobs/ok.py") + `"}`
	const n = 40
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		wg.Go(func() { statuses[i] = srv.do("PUT", "/batches", body, "requestId", rid).status })
	}
	wg.Wait()
	count := map[int]int{}
	for _, st := range statuses {
		count[st]++
	}
	if count[201] != 1 || count[200] != n-1 {
		t.Fatalf("statuses %v, want one 201 and %d × 200", count, n-1)
	}
	a.waitState(0, 30*time.Second, "success")
	if list := b.do("GET", "/batches", "").json(t); list["total"].(float64) != 1 {
		t.Errorf("total = %v, want 1", list["total"])
	}
	if files, _ := filepath.Glob(filepath.Join(markers, "*")); len(files) != 1 {
		t.Errorf("%d applications ran, want 1", len(files))
	}
}
