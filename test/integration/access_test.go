package integration

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
)

// The roles of the access matrix: alice owns what is checked, run as paul; vera may view
// every session, mona modify every one; root is a superuser; bob is nobody special; "" is an
// anonymous request.
var matrixRoles = []string{"alice", "paul", "bob", "vera", "mona", "root", ""}

// The access matrix, on both stores: each role × each thing a client does to a session or
// batch, against what Livy's access control (and sparkgate's scoped idempotency keys) say;
// a denial changes nothing.
func TestAccessMatrix(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	for _, store := range []string{"embedded", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			users := map[string]string{}
			for _, u := range matrixRoles[:6] {
				users[u] = u + "-pw"
			}
			o := serverOpts{sparkHome: home, args: []string{"--auth", "basic", "--htpasswd", htpasswdFile(t, users),
				"--access-control", "--view-users", "vera", "--modify-users", "mona", "--superusers", "root",
				"--impersonation", "--impersonation-rules", "alice=paul"}}
			if store == "postgres" {
				o.store = pgtest.URL(t)
			}
			runAccessMatrix(t, startServer(t, o))
		})
	}
}

// as are the headers of a request by user ("" for none).
func as(user string) []string {
	if user == "" {
		return nil
	}
	return []string{"Authorization", "Basic " + basicHeader(user, user+"-pw")}
}

func runAccessMatrix(t *testing.T, s *server) {
	do := func(user, method, path, body string, headers ...string) *response {
		return s.do(method, path, body, append(as(user), headers...)...)
	}
	failing := fmt.Sprintf(`{"file":%q,"proxyUser":"paul"}`, testdata(t, "jobs/fail.py"))
	newBatch := func() int {
		r := do("alice", "POST", "/batches", failing)
		if r.status != 201 {
			t.Fatalf("alice's batch: %d %s", r.status, r.body)
		}
		return int(r.json(t)["id"].(float64))
	}
	newSession := func() int {
		r := do("alice", "POST", "/sessions", `{"kind":"pyspark","proxyUser":"paul","conf":{"spark.ui.enabled":"false"}}`)
		if r.status != 201 || r.json(t)["proxyUser"] != "paul" || r.json(t)["owner"] != "alice" {
			t.Fatalf("alice's session as paul: %d %s", r.status, r.body)
		}
		return int(r.json(t)["id"].(float64))
	}
	session, batch := newSession(), newBatch()
	sp, bp := fmt.Sprintf("/sessions/%d", session), fmt.Sprintf("/batches/%d", batch)
	waitFor(t, sparkTimeout, "alice's session to be idle", func() bool {
		return do("alice", "GET", sp+"/state", "").json(t)["state"] == "idle"
	})
	if r := do("alice", "POST", sp+"/statements", `{"code":"1+1"}`); r.status != 201 {
		t.Fatalf("alice's statement: %d %s", r.status, r.body)
	}
	statements := func() int { return int(do("alice", "GET", sp+"/statements", "").json(t)["total_statements"].(float64)) }

	viewers := "alice paul vera mona root"
	modifiers := "alice paul mona root"
	want := func(allowed string, ok int) map[string]int {
		m := map[string]int{}
		for _, u := range matrixRoles {
			switch {
			case u == "":
				m[u] = 401
			case strings.Contains(" "+allowed+" ", " "+u+" "):
				m[u] = ok
			default:
				m[u] = 403
			}
		}
		return m
	}
	upload := func() (string, string) {
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		fw, _ := mw.CreateFormFile("file", "notes.txt")
		fw.Write([]byte("words"))
		mw.Close()
		return form.String(), mw.FormDataContentType()
	}
	type action struct {
		name   string
		expect map[string]int
		do     func(user string) int
	}
	get := func(path string) func(string) int {
		return func(u string) int { return do(u, "GET", path, "").status }
	}
	before := statements()
	actions := []action{
		{"get session", want(viewers, 200), get(sp)},
		{"session state", want(viewers, 200), get(sp + "/state")},
		{"session log", want(viewers, 200), get(sp + "/log")},
		{"statements", want(viewers, 200), get(sp + "/statements")},
		{"statement", want(viewers, 200), get(sp + "/statements/0")},
		{"get batch", want(viewers, 200), get(bp)},
		{"batch state", want(viewers, 200), get(bp + "/state")},
		{"batch log", want(viewers, 200), get(bp + "/log")},
		{"post statement", want(modifiers, 201), func(u string) int { return do(u, "POST", sp+"/statements", `{"code":"2+2"}`).status }},
		{"cancel", want(modifiers, 200), func(u string) int { return do(u, "POST", sp+"/statements/0/cancel", "").status }},
		{"completion", want(modifiers, 200), func(u string) int {
			return do(u, "POST", sp+"/completion", `{"code":"spark.","kind":"pyspark","cursor":6}`).status
		}},
		{"upload", want(modifiers, 200), func(u string) int {
			body, ct := upload()
			return do(u, "POST", sp+"/upload-file", body, "Content-Type", ct).status
		}},
		{"delete batch, denied", want(modifiers, 0), func(u string) int { return do(u, "DELETE", bp, "").status }},
		{"delete session, denied", want(modifiers, 0), func(u string) int { return do(u, "DELETE", sp, "").status }},
	}
	for _, a := range actions {
		for _, u := range matrixRoles {
			if a.expect[u] == 0 {
				continue // allowed: checked below, where it changes something
			}
			if got := a.do(u); got != a.expect[u] {
				t.Errorf("%s as %q: %d, want %d", a.name, u, got, a.expect[u])
			}
		}
	}
	if got := statements(); got != before+4 {
		t.Errorf("statements after the matrix: %d, want %d (one per modifier, none for a denial)", got, before+4)
	}
	if do("alice", "GET", bp, "").status != 200 || do("alice", "GET", sp, "").status != 200 {
		t.Error("a denied DELETE deleted")
	}
	t.Run("lists show what the caller may view", func(t *testing.T) {
		for _, u := range matrixRoles {
			for _, path := range []string{"/sessions", "/batches"} {
				r := do(u, "GET", path, "")
				if u == "" {
					if r.status != 401 {
						t.Errorf("anonymous %s: %d", path, r.status)
					}
					continue
				}
				shown := len(r.json(t)["sessions"].([]any)) > 0
				if sees := strings.Contains(viewers, u); r.status != 200 || shown != sees {
					t.Errorf("%s %s: %d, shows alice's: %v, want %v", u, path, r.status, shown, sees)
				}
			}
		}
	})
	t.Run("DELETE by each who may", func(t *testing.T) {
		for _, u := range strings.Fields(modifiers) {
			if r := do(u, "DELETE", fmt.Sprintf("/batches/%d", newBatch()), ""); r.status != 200 {
				t.Errorf("%s deletes alice's batch: %d %s", u, r.status, r.body)
			}
			if r := do(u, "DELETE", fmt.Sprintf("/sessions/%d", newSession()), ""); r.status != 200 {
				t.Errorf("%s deletes alice's session: %d %s", u, r.status, r.body)
			}
		}
	})
	t.Run("PUT replay is the caller's own", func(t *testing.T) {
		rid := []string{"Requestid", "6fa459ea-ee8a-3ca4-894e-db77e160355e"}
		first := do("alice", "PUT", "/batches", failing, rid...)
		if first.status != 201 {
			t.Fatalf("alice's PUT: %d %s", first.status, first.body)
		}
		id := first.json(t)["id"]
		for _, u := range matrixRoles {
			r := do(u, "PUT", "/batches", fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/fail.py")), rid...)
			switch {
			case u == "alice":
				r = do(u, "PUT", "/batches", failing, rid...)
				if r.status != 200 || r.json(t)["id"] != id {
					t.Errorf("alice's replay: %d %s, want 200 with batch %v", r.status, r.body, id)
				}
			case u == "":
				if r.status != 401 {
					t.Errorf("anonymous PUT: %d", r.status)
				}
			default:
				if r.status != 201 || r.json(t)["id"] == id || r.json(t)["owner"] != u {
					t.Errorf("%s's PUT with alice's requestId: %d %s, want a batch of their own", u, r.status, r.body)
				}
			}
		}
	})
	t.Run("a reserved id is its reserver's", func(t *testing.T) {
		r := do("alice", "POST", "/batches/id", "")
		if r.status != 201 {
			t.Fatalf("reserve: %d %s", r.status, r.body)
		}
		id, putKey := int(r.json(t)["sessionId"].(float64)), r.json(t)["putKey"].(string)
		body := fmt.Sprintf(`{"file":%q,"putKey":%q}`, testdata(t, "jobs/fail.py"), putKey)
		for _, u := range matrixRoles[1:] {
			expect := 403
			if u == "" {
				expect = 401
			}
			if r := do(u, "PUT", fmt.Sprintf("/batches/%d", id), body); r.status != expect {
				t.Errorf("%q PUTs alice's reserved id: %d %s, want %d", u, r.status, r.body, expect)
			}
		}
		if r := do("alice", "PUT", fmt.Sprintf("/batches/%d", id), body); r.status != 201 {
			t.Errorf("alice PUTs her reserved id after the denials: %d %s", r.status, r.body)
		}
	})
}
