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

// faultRun describes one fault-injection run: creates under rounds of requestIds, each round
// with a SIGKILL of the server at a random instant among its PUTs.
type faultRun struct {
	sparkHome string
	job       string
	rounds    int           // one SIGKILL per round
	perRound  int           // requestIds whose PUTs start in each round
	window    time.Duration // PUTs and the kill fall at random instants in it
	finish    time.Duration // how long the applications may take to finish afterwards
	env       []string
	args      []string // more flags of the servers
	// instances > 1 runs that many servers on one PostgreSQL database (store) and one data
	// directory; each round kills one of them.
	instances int
	store     string
}

// runFaults SIGKILLs the server at random instants while clients create batches with PUT and
// retry through the restarts, then counts, from what the applications themselves wrote, that
// every requestId ran exactly once.
func runFaults(t *testing.T, f faultRun) {
	markers := t.TempDir()
	data := t.TempDir()
	var servers []*server
	var clients []*client.Client
	for i := range max(1, f.instances) {
		srv := startServer(t, serverOpts{sparkHome: f.sparkHome, env: f.env, store: f.store, dataDir: data,
			args: append([]string{"--max-concurrent-launches", "2", "--lease", "2s", "--instance-id", fmt.Sprintf("i%d", i)}, f.args...)})
		servers = append(servers, srv)
		clients = append(clients, client.New(srv.url(""), client.WithRetry(client.Retry{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond})))
	}
	s := servers[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]int64{}
	var keys []string
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for range f.rounds {
		for range f.perRound {
			key := client.NewRequestID()
			keys = append(keys, key)
			delay := time.Duration(rng.Int64N(int64(f.window)))
			c := clients[rng.IntN(len(clients))]
			wg.Go(func() {
				time.Sleep(delay)
				b, _, err := c.CreateBatchWithRequestID(ctx, key, &client.CreateBatchRequest{
					File: f.job, Args: []client.String{client.String(markers), client.String(key)},
					Conf: map[string]client.String{"spark.ui.enabled": "false"},
				})
				if err != nil {
					t.Errorf("PUT %s never answered: %v", key, err)
					return
				}
				mu.Lock()
				ids[key] = b.ID
				mu.Unlock()
			})
		}
		time.Sleep(time.Duration(rng.Int64N(int64(f.window))))
		victim := servers[rng.IntN(len(servers))]
		victim.kill()
		if len(servers) > 1 {
			// Down for up to twice the lease: often long enough for a peer to adopt its batches.
			time.Sleep(time.Duration(rng.Int64N(int64(4 * time.Second))))
		}
		victim.start()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Every requestId has its batch, distinct from the others', and each one finishes.
	seen := map[int64]string{}
	for key, id := range ids {
		if other, dup := seen[id]; dup {
			t.Errorf("requestIds %s and %s got the same batch %d", key, other, id)
		}
		seen[id] = key
	}
	for _, id := range ids {
		if got := s.waitState(int(id), f.finish, "success", "dead"); got != "success" {
			t.Errorf("batch %d ended %s", id, got)
		}
	}
	duplicates, lost := 0, 0
	for _, key := range keys {
		b, err := os.ReadFile(filepath.Join(markers, key))
		switch n := strings.Count(string(b), "ran "); {
		case err != nil || n == 0:
			lost++
		case n > 1:
			duplicates += n - 1
		}
	}
	list := s.do("GET", "/batches?size=100000", "").json(t)
	adoptions := 0
	for _, srv := range servers {
		adoptions += adoptionsIn(srv.output(), "batch")
	}
	t.Logf("fault injection: %d kills, %d requestIds, %d batches, %d duplicates, %d lost (%d adoptions by a peer)",
		f.rounds, len(keys), int(list["total"].(float64)), duplicates, lost, adoptions)
	if duplicates != 0 || lost != 0 || int(list["total"].(float64)) != len(keys) {
		t.Fatalf("%d duplicates and %d lost applications, %v batches for %d requestIds; want exactly one each",
			duplicates, lost, list["total"], len(keys))
	}
}

// A small fault-injection run on real Spark: the markers are written by real Spark jobs.
func TestFaultInjectionRealSpark(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	runFaults(t, faultRun{sparkHome: home, job: testdata(t, "jobs/marker.py"), rounds: 3, perRound: 1,
		window: 1500 * time.Millisecond, finish: sparkTimeout})
}

// The same on YARN in cluster mode: the gateway only submits, YARN runs the drivers (which
// write the markers from their containers), and the restarted gateway finds each application
// by its tag at the ResourceManager. SPARKGATE_SOAK_YARN_KILLS sets how many kills (make
// soak-yarn).
func TestFaultInjectionYarn(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	y := sharedYarn(t)
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("SPARKGATE_SOAK_YARN_KILLS")); err == nil && n > 0 {
		rounds = n
	}
	runFaults(t, faultRun{sparkHome: home, job: testdata(t, "jobs/marker.py"), rounds: rounds, perRound: 1,
		window: 1500 * time.Millisecond, finish: sparkTimeout, env: y.sparkEnv(t, home),
		args: []string{"--spark-master", "yarn", "--spark-deploy-mode", "cluster", "--cluster-poll-interval", "500ms"}})
}

// Two instances on one PostgreSQL database, one of them SIGKILLed at random instants among
// creates spread over both; SPARKGATE_SOAK_KILLS sets how many kills (make soak-fleet).
func TestFaultInjectionFleet(t *testing.T) {
	t.Parallel()
	runFaults(t, faultRun{sparkHome: testdata(t, "stubspark"), job: testdata(t, "jobs/marker.py"), rounds: soakKills(10), perRound: 3,
		window: 300 * time.Millisecond, finish: time.Minute, env: []string{"STUB_SLEEP=0.2"},
		instances: 2, store: pgtest.URL(t)})
}

// The same on the stub spark-submit, with more kills; SPARKGATE_SOAK_KILLS sets how many
// (make soak N=200).
func TestFaultInjectionStub(t *testing.T) {
	t.Parallel()
	runFaults(t, faultRun{sparkHome: testdata(t, "stubspark"), job: testdata(t, "jobs/marker.py"), rounds: soakKills(10), perRound: 3,
		window: 300 * time.Millisecond, finish: time.Minute, env: []string{"STUB_SLEEP=0.2"}})
}

// soakKills is SPARKGATE_SOAK_KILLS (make soak N=...), or def.
func soakKills(def int) int {
	if n, err := strconv.Atoi(os.Getenv("SPARKGATE_SOAK_KILLS")); err == nil && n > 0 {
		return n
	}
	return def
}
