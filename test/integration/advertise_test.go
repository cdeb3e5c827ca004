package integration

import (
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
)

// Two instances of a fleet listen on every interface, as livy.server.host = 0.0.0.0 gives.
// Each tells its peers this host's name and its port, never 0.0.0.0 (which, dialled from
// another host, is the caller itself: a forwarded call went back to its sender, waited 30 s
// and answered 503), and a call that needs the driver, sent to the instance it does not
// poll, is forwarded and answered.
func TestFleetListeningOnEveryInterfaceForwardsToItsPeer(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	db := pgtest.URL(t)
	host, _ := os.Hostname()
	start := func(id string) (*server, string) {
		_, port, _ := net.SplitHostPort(freeAddr(t))
		// the client dials loopback; the server listens on every interface (the last --addr)
		return startServer(t, serverOpts{store: db, sparkHome: home, addr: "127.0.0.1:" + port,
			args: []string{"--addr", "0.0.0.0:" + port, "--allow-unauthenticated", "--instance-id", id}}), port
	}
	a, portA := start("a")
	b, portB := start("b")

	var addrs []string
	for _, inst := range b.do("GET", "/ui/api/status", "").json(t)["instances"].([]any) {
		addrs = append(addrs, inst.(map[string]any)["addr"].(string))
	}
	slices.Sort(addrs)
	want := []string{net.JoinHostPort(host, portA), net.JoinHostPort(host, portB)}
	slices.Sort(want)
	if !slices.Equal(addrs, want) {
		t.Errorf("the instances tell their peers %v, want %v (this host's name and each port)", addrs, want)
	}

	if r := a.do("POST", "/sessions", `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`); r.status != 201 {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	waitFor(t, sparkTimeout, "the session to be idle", func() bool { return b.sessionState(0) == "idle" })
	// A statement's answer means the driver polls (a, its --driver-url's default).
	if got := textOf(t, b.runStatement(0, `{"code":"1 + 1"}`)); got != "2" {
		t.Fatalf("1 + 1 = %q", got)
	}
	// A completion waits for the driver in the memory of the instance it polls (a): b forwards it.
	r := b.do("POST", "/sessions/0/completion", `{"code":"sc.paralle","cursor":10}`)
	if r.status != 200 || !strings.Contains(string(r.body), "sc.parallelize") {
		t.Errorf("completion through the instance the driver does not poll = %d %s", r.status, r.body)
	}
	if r := b.do("DELETE", "/sessions/0", ""); r.status != 200 {
		t.Errorf("DELETE through b = %d %s", r.status, r.body)
	}
}
