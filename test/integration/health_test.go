package integration

import (
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
)

// /healthz and /readyz answer without credentials and whatever name the probe uses; /readyz
// goes 503, naming the store, while PostgreSQL is down, and 200 again once it is back, with no
// restart of the server.
func TestHealth(t *testing.T) {
	t.Parallel()
	pg := pgtest.StartCluster(t)
	s := startServer(t, serverOpts{store: pg.URL, sparkHome: testdata(t, "stubspark"),
		args: []string{"--auth", "basic", "--htpasswd", htpasswdFile(t, map[string]string{"alice": "alice-pw"})}})
	checks := func(r *response) map[string]any { m, _ := r.json(t)["checks"].(map[string]any); return m }

	if r := s.do("GET", "/healthz", "", "Host", "10.1.2.3:8998"); r.status != 200 || r.json(t)["status"] != "ok" {
		t.Errorf("/healthz by a probe's address: %d %s", r.status, r.body)
	}
	r := s.do("GET", "/readyz", "")
	if r.status != 200 || r.json(t)["status"] != "ready" {
		t.Fatalf("/readyz: %d %s", r.status, r.body)
	}
	for _, name := range []string{"store", "lease", "launcher", "serving"} {
		if checks(r)[name] != "ok" {
			t.Errorf("/readyz check %s: %v", name, checks(r)[name])
		}
	}
	if r := s.do("POST", "/readyz", ""); r.status != 405 {
		t.Errorf("POST /readyz: %d, want 405", r.status)
	}
	if r := s.do("GET", "/batches", ""); r.status != 401 {
		t.Errorf("the API itself still needs credentials: %d", r.status)
	}

	pg.Stop()
	var down *response
	waitFor(t, 10*time.Second, "/readyz to go 503", func() bool { down = s.do("GET", "/readyz", ""); return down.status == 503 })
	if c := checks(down); c["store"] == "ok" || c["store"] == nil || c["launcher"] != "ok" {
		t.Errorf("/readyz with PostgreSQL down names the store alone: %s", down.body)
	}
	if r := s.do("GET", "/healthz", ""); r.status != 200 {
		t.Errorf("/healthz with PostgreSQL down: %d (the process is alive)", r.status)
	}
	pg.Start()
	waitFor(t, 30*time.Second, "/readyz to be 200 again", func() bool { return s.do("GET", "/readyz", "").status == 200 })
}
