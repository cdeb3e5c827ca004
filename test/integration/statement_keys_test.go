package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/client"
	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
)

// appendLine is pyspark code that appends line to the file at path, from the driver: a side
// effect that shows how often a statement ran.
func appendLine(path, line string) string {
	return fmt.Sprintf("open(%q, 'a').write(%q)", path, line+"\n")
}

// idlePysparkSession starts a pyspark session on s and waits until it is idle.
func idlePysparkSession(t *testing.T, s *server) {
	t.Helper()
	if r := s.do("POST", "/sessions", `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`); r.status != 201 {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	waitFor(t, sparkTimeout, "the session to be idle", func() bool { return s.sessionState(0) == "idle" })
}

// Forty identical keyed POSTs of a statement at once make one statement on a real driver: every
// answer names it, one is its creation (201) and the others replays (200), and the code ran
// once. The key with other code is refused and runs nothing.
func TestConcurrentKeyedStatementsRunOnce(t *testing.T) {
	concurrentKeyedStatements(t, "")
}

// The same on the PostgreSQL store, whose unique index decides.
func TestConcurrentKeyedStatementsRunOnceOnPostgres(t *testing.T) {
	concurrentKeyedStatements(t, "postgres")
}

func concurrentKeyedStatements(t *testing.T, storeKind string) {
	home := sparkHome(t)
	t.Parallel()
	var db string
	if storeKind == "postgres" {
		db = pgtest.URL(t)
	}
	s := startServer(t, serverOpts{sparkHome: home, store: db})
	idlePysparkSession(t, s)
	marker := filepath.Join(t.TempDir(), "ran")
	key := client.NewRequestID()
	body := fmt.Sprintf(`{"code":%q}`, appendLine(marker, "once"))

	const n = 40
	statuses, ids := make([]int, n), make([]float64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := s.do("POST", "/sessions/0/statements", body, "requestId", key)
			statuses[i] = r.status
			if r.status < 300 {
				ids[i] = r.json(t)["id"].(float64)
			}
		})
	}
	wg.Wait()
	count := map[int]int{}
	for i, st := range statuses {
		count[st]++
		if st < 300 && ids[i] != ids[0] {
			t.Errorf("answer %d names statement %v, answer 0 statement %v", i, ids[i], ids[0])
		}
	}
	if count[201] != 1 || count[200] != n-1 {
		t.Errorf("%d keyed POSTs answered %v, want one 201 and %d 200", n, count, n-1)
	}
	if r := s.do("PUT", "/sessions/0/statements", `{"code":"1 + 1"}`, "requestId", key); r.status != 422 {
		t.Errorf("the key with other code = %d %s, want 422", r.status, r.body)
	}
	list := s.do("GET", "/sessions/0/statements", "").json(t)
	if total := list["total_statements"].(float64); total != 1 {
		t.Fatalf("the session has %v statements, want 1: %v", total, list)
	}
	waitFor(t, sparkTimeout, "the statement to be available", func() bool {
		return s.do("GET", fmt.Sprintf("/sessions/0/statements/%d", int(ids[0])), "").json(t)["state"] == "available"
	})
	if b, err := os.ReadFile(marker); err != nil || string(b) != "once\n" {
		t.Errorf("the driver wrote %q, %v; want the code to have run once", b, err)
	}
}

// statementKills is SPARKGATE_SOAK_STATEMENT_KILLS (make soak-statements N=...), or def.
func statementKills(def int) int {
	if n, err := strconv.Atoi(os.Getenv("SPARKGATE_SOAK_STATEMENT_KILLS")); err == nil && n > 0 {
		return n
	}
	return def
}

// The gateway is SIGKILLed at random instants while a client runs keyed statements, each
// appending its key to a marker file from the driver, and retries them through the restarts
// with their keys: every key ran exactly once. SPARKGATE_SOAK_STATEMENT_KILLS sets how many
// kills (make soak-statements N=...).
func TestFaultInjectionKeyedStatements(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home})
	idlePysparkSession(t, s)
	marker := filepath.Join(t.TempDir(), "ran")
	c := client.New(s.url(""), client.WithRetry(client.Retry{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	kills := statementKills(2)
	killed := make(chan struct{})
	defer func() { <-killed }() // a failing test still waits for its killer
	go func() {                 // the killer: owned by this test, done when killed is closed
		defer close(killed)
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
		for range kills {
			time.Sleep(time.Duration(rng.Int64N(int64(1500 * time.Millisecond))))
			s.kill()
			s.start()
		}
	}()
	var keys []string
	run := func() {
		key := client.NewRequestID()
		keys = append(keys, key)
		st, err := c.RunWithRequestID(ctx, 0, key, appendLine(marker, key), "", 50*time.Millisecond)
		if err != nil {
			t.Fatalf("statement %s: %v", key, err)
		}
		if st.State != "available" || !strings.Contains(string(st.Output), `"status":"ok"`) {
			t.Errorf("statement %s ended %s: %s", key, st.State, st.Output)
		}
	}
	for done := false; !done; {
		select {
		case <-killed:
			done = true
		default:
		}
		run()
	}
	run() // one more after the last restart

	b, err := os.ReadFile(marker)
	if err != nil {
		t.Fatal(err)
	}
	ran := map[string]int{}
	for _, line := range strings.Fields(string(b)) {
		ran[line]++
	}
	duplicates, lost := 0, 0
	for _, key := range keys {
		switch n := ran[key]; {
		case n == 0:
			lost++
		case n > 1:
			duplicates += n - 1
		}
	}
	total := s.do("GET", "/sessions/0/statements", "").json(t)["total_statements"].(float64)
	t.Logf("fault injection: %d kills, %d keyed statements, %d statements stored, %d duplicates, %d lost",
		kills, len(keys), int(total), duplicates, lost)
	if duplicates != 0 || lost != 0 || int(total) != len(keys) || len(ran) != len(keys) {
		t.Fatalf("%d duplicates and %d lost runs, %v statements for %d keys; want exactly one each", duplicates, lost, total, len(keys))
	}
}
