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
	for _, m := range modes {
		s := startServer(b, serverOpts{sparkHome: stub, args: m.args})
		body := fmt.Sprintf(`{"file":%q}`, testdata(b, "jobs/ok.py"))
		const rid = "9b2d8f5e-4c1a-4e7b-8d3f-6a5b4c3d2e1f"
		if r := s.do("PUT", "/batches", body, "Authorization", m.cred, "Requestid", rid); r.status != 201 {
			b.Fatalf("%s: PUT = %d %s", m.name, r.status, r.body)
		}
		for _, op := range []struct {
			name, method, path, body string
			want                     int
		}{
			{"GET", "GET", "/batches/0", "", 200},
			{"PUT-replay", "PUT", "/batches", body, 200},
		} {
			b.Run(m.name+"/"+op.name, func(b *testing.B) {
				b.SetParallelism(16) // 32 clients on 2 cores
				b.RunParallel(func(pb *testing.PB) {
					c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
					for pb.Next() {
						req, _ := http.NewRequest(op.method, s.url(op.path), stringsReader(op.body))
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("Requestid", rid)
						if m.cred != "" {
							req.Header.Set("Authorization", m.cred)
						}
						resp, err := c.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != op.want {
							b.Errorf("%s %s: %d", op.method, op.path, resp.StatusCode)
							return
						}
					}
				})
			})
		}
	}
}

func stringsReader(s string) io.Reader {
	if s == "" {
		return nil
	}
	return strings.NewReader(s)
}
