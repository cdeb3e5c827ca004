package integration

import (
	"os"
	"path/filepath"
	"testing"
	"time"
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
