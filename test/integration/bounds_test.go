package integration

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"path/filepath"
	"strings"
	"testing"
)

// What one user, or one session, may hold is bounded; beyond a bound a request gets a 429 (or
// a 413 for uploads) that says which bound, and changes nothing; other users are not bounded
// by it; and what a session no longer needs is removed when its driver ends.
func TestBoundsPerUser(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	dataDir := t.TempDir()
	s := startServer(t, serverOpts{sparkHome: home, dataDir: dataDir, args: []string{
		"--auth", "basic", "--htpasswd", htpasswdFile(t, map[string]string{"alice": "alice-pw", "bob": "bob-pw"}),
		"--max-active-per-user", "2", "--max-reservations-per-user", "2", "--max-statements-per-session", "3",
		"--max-statement-output-bytes", "4096", "--max-upload-bytes", "3000", "--max-session-upload-bytes", "4500"}})
	do := func(user, method, path, body string, headers ...string) *response {
		return s.do(method, path, body, append(as(user), headers...)...)
	}
	refused := func(r *response, status int, says string) {
		t.Helper()
		if r.status != status || !strings.Contains(r.json(t)["msg"].(string), says) {
			t.Errorf("want %d naming %s, got %d %s", status, says, r.status, r.body)
		}
	}
	total := func(user, path string) float64 { return do(user, "GET", path, "").json(t)["total"].(float64) }

	// unfinished applications: a session and a batch of alice's, batches and sessions together
	r := do("alice", "POST", "/sessions", `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`)
	if r.status != 201 {
		t.Fatalf("alice's session: %d %s", r.status, r.body)
	}
	sp := fmt.Sprintf("/sessions/%d", int(r.json(t)["id"].(float64)))
	sleeper := fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/sleep.py"))
	r = do("alice", "PUT", "/batches", sleeper, "requestId", "0f8fad5b-d9cb-469f-a165-70867728950e")
	if r.status != 201 {
		t.Fatalf("alice's batch: %d %s", r.status, r.body)
	}
	bp := fmt.Sprintf("/batches/%d", int(r.json(t)["id"].(float64)))
	refused(do("alice", "POST", "/batches", sleeper), 429, "--max-active-per-user")
	refused(do("alice", "POST", "/sessions", `{"kind":"pyspark"}`), 429, "--max-active-per-user")
	if n := total("alice", "/batches"); n != 1 {
		t.Errorf("refused creates left %v batches, want 1", n)
	}
	if r := do("alice", "PUT", "/batches", sleeper, "requestId", "0f8fad5b-d9cb-469f-a165-70867728950e"); r.status != 200 {
		t.Errorf("a replay at the bound: %d %s, want 200 (it starts nothing)", r.status, r.body)
	}
	if r := do("bob", "POST", "/batches", sleeper); r.status != 201 {
		t.Errorf("bob is bounded by alice's applications: %d %s", r.status, r.body)
	} else if r := do("bob", "DELETE", fmt.Sprintf("/batches/%d", int(r.json(t)["id"].(float64))), ""); r.status != 200 {
		t.Errorf("bob's delete: %d %s", r.status, r.body)
	}

	// unused reserved ids
	for range 2 {
		if r := do("alice", "POST", "/sessions/id", ""); r.status != 201 {
			t.Fatalf("reserve: %d %s", r.status, r.body)
		}
	}
	refused(do("alice", "POST", "/sessions/id", ""), 429, "--max-reservations-per-user")
	if r := do("bob", "POST", "/sessions/id", ""); r.status != 201 {
		t.Errorf("bob is bounded by alice's reservations: %d %s", r.status, r.body)
	}

	waitFor(t, sparkTimeout, "alice's session to be idle", func() bool {
		return do("alice", "GET", sp+"/state", "").json(t)["state"] == "idle"
	})
	// a statement's output beyond its bound is cut, and says so
	if r := do("alice", "POST", sp+"/statements", `{"code":"print('x' * 100000)"}`); r.status != 201 {
		t.Fatalf("statement: %d %s", r.status, r.body)
	}
	var out map[string]any
	waitFor(t, sparkTimeout, "the large output", func() bool {
		st := do("alice", "GET", sp+"/statements/0", "").json(t)
		out, _ = st["output"].(map[string]any)
		return st["state"] == "available"
	})
	text, _ := out["data"].(map[string]any)["text/plain"].(string)
	if out["status"] != "ok" || !strings.HasPrefix(text, "xxxxxxxx") || !strings.Contains(text, "output cut") || len(text) > 4096 {
		t.Errorf("a 100000-byte output with a bound of 4096: %v, %d bytes", out["status"], len(text))
	}

	// uploads: each file, and all of one session's together
	upload := func(name string, size int) *response {
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		fw, _ := mw.CreateFormFile("file", name)
		fw.Write(bytes.Repeat([]byte("u"), size))
		mw.Close()
		return do("alice", "POST", sp+"/upload-file", form.String(), "Content-Type", mw.FormDataContentType())
	}
	if r := upload("a.bin", 2500); r.status != 200 {
		t.Fatalf("an upload within the bounds: %d %s", r.status, r.body)
	}
	if r := upload("b.bin", 3100); r.status != 413 {
		t.Errorf("an upload over --max-upload-bytes: %d %s, want 413", r.status, r.body)
	}
	refused(upload("c.bin", 2500), 413, "--max-session-upload-bytes")
	if r := upload("d.bin", 1000); r.status != 200 {
		t.Errorf("an upload that fits what is left: %d %s", r.status, r.body)
	}
	if r := upload("a.bin", 1000); r.status != 400 {
		t.Errorf("a file the driver refuses (Spark's: another a.bin): %d %s, want 400", r.status, r.body)
	}
	uploads, _ := filepath.Glob(filepath.Join(dataDir, "*", "*", "uploads", "*", "*.bin"))
	if len(uploads) != 2 {
		t.Errorf("the session holds %d uploaded files, want the 2 accepted: %v", len(uploads), uploads)
	}

	// statements per session
	for i := 1; i < 3; i++ {
		if r := do("alice", "POST", sp+"/statements", `{"code":"1"}`); r.status != 201 {
			t.Fatalf("statement %d: %d %s", i, r.status, r.body)
		}
	}
	refused(do("alice", "POST", sp+"/statements", `{"code":"1"}`), 429, "--max-statements-per-session")
	if n := do("alice", "GET", sp+"/statements", "").json(t)["total_statements"].(float64); n != 3 {
		t.Errorf("a refused statement left %v statements, want 3", n)
	}

	// a finished application no longer counts
	if r := do("alice", "DELETE", bp, ""); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := do("alice", "POST", "/batches", fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/ok.py"))); r.status != 201 {
		t.Errorf("after a delete: %d %s", r.status, r.body)
	}

	// a session whose driver ended keeps no uploads
	killApplicationsIn(dataDir)
	waitFor(t, sparkTimeout, "the killed driver's session to end", func() bool {
		st := do("alice", "GET", sp+"/state", "").json(t)["state"]
		return st == "dead" || st == "killed"
	})
	if uploads, _ := filepath.Glob(filepath.Join(dataDir, "*", "*", "uploads", "*", "*")); len(uploads) != 0 {
		t.Errorf("a session whose driver ended keeps its uploads: %v", uploads)
	}
}
