package integration

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
)

// Finished batches leave the list after --retain-finished, with their files; one created
// under a requestId is only hidden, and a replay still answers with it.
func TestRetention(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark"), args: []string{"--retain-finished", "2s"}})
	body := `{"file":"` + testdata(t, "jobs/ok.py") + `"}`
	plain := s.createBatch(body)
	if r := s.do("PUT", "/batches", body, "requestId", rid); r.status != 201 {
		t.Fatalf("PUT = %d %s", r.status, r.body)
	}
	s.waitState(plain, 30*time.Second, "success")
	s.waitState(1, 30*time.Second, "success")
	plainDir := appDir(t, s, plain)
	keyedDir := appDir(t, s, 1)
	waitFor(t, 30*time.Second, "finished batches to leave the list", func() bool {
		return s.do("GET", "/batches", "").json(t)["total"].(float64) == 0
	})
	if r := s.do("GET", "/batches/1", ""); r.status != 404 {
		t.Errorf("GET of a purged batch = %d, want 404", r.status)
	}
	// The directory goes just after the record (files follow the store).
	waitFor(t, 10*time.Second, "the purged batch's directory "+filepath.Base(plainDir)+" to go", func() bool {
		_, err := os.Stat(plainDir)
		return os.IsNotExist(err)
	})
	r := s.do("PUT", "/batches", body, "requestId", rid)
	if r.status != 200 || r.json(t)["id"].(float64) != 1 || r.json(t)["state"] != "success" {
		t.Errorf("replay after retention = %d %s, want 200 with batch 1", r.status, r.body)
	}
	if _, err := os.Stat(keyedDir); err != nil {
		t.Errorf("the keyed batch's log went with its retention: %v", err)
	}
}

// On a fleet with a data directory per host, a session's purge runs on any instance, and
// removed only that instance's files: the directory on the host that ran the batch stayed
// forever. Each instance now sweeps its own data directory against the store, so the files go
// where they are, even when their instance was down while another purged the batch.
func TestFilesOfABatchPurgedElsewhereGoFromTheirHost(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	opts := serverOpts{store: db, sparkHome: testdata(t, "stubspark"),
		args: []string{"--retain-finished", "2s", "--idempotency-retention", "2s"}}
	a := startServer(t, opts)
	b := startServer(t, opts) // a data directory of its own
	id := a.createBatch(`{"file":"` + testdata(t, "jobs/ok.py") + `"}`)
	a.waitState(id, 30*time.Second, "success")
	dirs, _ := filepath.Glob(filepath.Join(a.dataDir, "apps", fmt.Sprintf("sparkgate-batch-%d-*", id)))
	if len(dirs) != 1 {
		t.Fatalf("the batch's directory on a, which ran it: %v", dirs)
	}
	a.stop()
	waitFor(t, 30*time.Second, "b to purge the batch", func() bool { return b.do("GET", fmt.Sprintf("/batches/%d", id), "").status == 404 })
	a.start()
	waitFor(t, 30*time.Second, "the purged batch's directory on a to go", func() bool {
		_, err := os.Stat(dirs[0])
		return os.IsNotExist(err)
	})
}

// A session's uploads sit on the instance its driver polls, which need not be the one that
// launched it, ends it and serves its DELETE: with a data directory per host they stayed there
// (up to --max-session-upload-bytes a session). That instance's sweep now removes them once
// the session is not running any more.
func TestUploadsOfASessionEndedElsewhereGoFromTheirHost(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	db := pgtest.URL(t)
	// the purge of the deleted session, which removes the directory where it runs, comes
	// after the wait below; the sweep runs every tenth of that
	retain := []string{"--retain-finished", "2m"}
	b := startServer(t, serverOpts{store: db, sparkHome: home, args: retain})
	// a launches the driver, which polls b: b keeps what is uploaded to it.
	a := startServer(t, serverOpts{store: db, sparkHome: home, args: append(retain, "--driver-url", "http://"+b.addr)})
	if r := a.do("POST", "/sessions", `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`); r.status != 201 {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	waitFor(t, sparkTimeout, "the session to be idle", func() bool { return a.sessionState(0) == "idle" })
	if got := textOf(t, a.runStatement(0, `{"code":"1 + 1"}`)); got != "2" {
		t.Fatalf("1 + 1 = %q", got)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("file", "notes.txt")
	fw.Write([]byte("uploaded words"))
	mw.Close()
	if r := a.do("POST", "/sessions/0/upload-file", form.String(), "Content-Type", mw.FormDataContentType()); r.status != 200 {
		t.Fatalf("upload-file = %d %s", r.status, r.body)
	}
	uploads, _ := filepath.Glob(filepath.Join(b.dataDir, "apps", "sparkgate-session-0-*", "uploads"))
	if len(uploads) != 1 {
		t.Fatalf("the uploads on b, which the driver polls: %v", uploads)
	}
	if r := a.do("DELETE", "/sessions/0", ""); r.status != 200 {
		t.Fatalf("DELETE = %d %s", r.status, r.body)
	}
	waitFor(t, time.Minute, "the uploads on b to go", func() bool {
		_, err := os.Stat(uploads[0])
		return os.IsNotExist(err)
	})
}
