package integration

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sparkgate/sparkgate/internal/auth/authtest"
)

// BenchmarkAuth measures what authenticating costs a client, in one run against the
// unauthenticated server: GET /batches/{id} and a replayed PUT /batches, each with --auth
// none, basic (bcrypt at cost 10, remembered after the first check) and jwt (an RS256 token of
// a JWKS), 32 keep-alive clients on the stub spark-submit. Compare the ns/op of basic and jwt
// with none's:
//
//	go test -run '^$' -bench BenchmarkAuth -count 3 ./test/integration
func BenchmarkAuth(b *testing.B) {
	stub := testdata(b, "stubspark")
	iss := authtest.NewIssuer(b)
	claims := iss.Claims("alice")
	modes := []struct {
		name string
		args []string
		cred string
	}{
		{"none", nil, ""},
		{"basic", []string{"--auth", "basic", "--htpasswd", htpasswdFileCost(b, "alice", "wonder land", 10)}, "Basic " + basicHeader("alice", "wonder land")},
		{"jwt", []string{"--auth", "jwt", "--jwt-jwks-url", iss.JWKS(), "--jwt-issuer", iss.URL, "--jwt-audience", iss.Audience}, "Bearer " + iss.Token(b, claims)},
	}
	body := fmt.Sprintf(`{"file":%q}`, testdata(b, "jobs/ok.py"))
	const rid = "9b2d8f5e-4c1a-4e7b-8d3f-6a5b4c3d2e1f"
	servers := make([]*server, len(modes))
	for i, m := range modes {
		servers[i] = startServer(b, serverOpts{sparkHome: stub, args: m.args})
		if r := servers[i].do("PUT", "/batches", body, "Authorization", m.cred, "Requestid", rid); r.status != 201 {
			b.Fatalf("%s: PUT = %d %s", m.name, r.status, r.body)
		}
	}
	ops := []struct {
		name, method, path, body string
		want                     int
	}{
		{"GET", "GET", "/batches/0", "", 200},
		{"PUT-replay", "PUT", "/batches", body, 200},
	}
	// rounds interleave the modes, so that the machine's drift falls on all of them alike
	for range 3 {
		for _, op := range ops {
			for i, m := range modes {
				b.Run(op.name+"/"+m.name, func(b *testing.B) { hammerParallel(b, servers[i], op.method, op.path, op.body, m.cred, rid, op.want) })
			}
		}
	}
}

// hammerParallel sends the request from 32 keep-alive clients for the benchmark's time.
func hammerParallel(b *testing.B, s *server, method, path, body, cred, rid string, want int) {
	b.SetParallelism(16) // 32 clients on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		for pb.Next() {
			req, _ := http.NewRequest(method, s.url(path), stringsReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Requestid", rid)
			if cred != "" {
				req.Header.Set("Authorization", cred)
			}
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				b.Errorf("%s %s: %d", method, path, resp.StatusCode)
				return
			}
		}
	})
}

func stringsReader(s string) io.Reader {
	if s == "" {
		return nil
	}
	return strings.NewReader(s)
}
