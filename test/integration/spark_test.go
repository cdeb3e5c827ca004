package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sparkTimeout bounds one real Spark application on this 2-core machine, with others running.
const sparkTimeout = 3 * time.Minute

func appDir(t *testing.T, s *server, id int) string {
	t.Helper()
	return filepath.Join(s.dataDir, "apps", appDirOf(t, s, "batch", id))
}

// appDirOf returns the tag (directory name) of a batch's or session's application.
func appDirOf(t *testing.T, s *server, kind string, id int) string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(s.dataDir, "apps", fmt.Sprintf("sparkgate-%s-%d-*", kind, id)))
	if len(dirs) != 1 {
		t.Fatalf("application directories of %s %d: %v", kind, id, dirs)
	}
	return filepath.Base(dirs[0])
}

func TestRealSparkBatchOutcomes(t *testing.T) {
	home := sparkHome(t)
	s := startServer(t, serverOpts{sparkHome: home})
	t.Run("success", func(t *testing.T) {
		t.Parallel()
		id := s.createBatch(`{"file":"` + examplesDir(t) + `/pi.py","args":["2"],"conf":{"spark.ui.enabled":"false"}}`)
		if got := s.waitState(id, sparkTimeout, "success", "dead"); got != "success" {
			t.Fatalf("pi.py ended %s; log:\n%s", got, strings.Join(s.allLog(id, 1000), "\n"))
		}
		if log := strings.Join(s.allLog(id, 1000), "\n"); !strings.Contains(log, "Pi is roughly") {
			t.Errorf("log lacks the job's output:\n%s", log)
		}
	})
	t.Run("raising job is dead", func(t *testing.T) {
		t.Parallel()
		id := s.createBatch(`{"file":"` + testdata(t, "jobs/fail.py") + `","conf":{"spark.ui.enabled":"false"}}`)
		if got := s.waitState(id, sparkTimeout, "success", "dead"); got != "dead" {
			t.Fatalf("a job that raised ended %s, want dead", got)
		}
		if log := strings.Join(s.allLog(id, 1000), "\n"); !strings.Contains(log, "this job fails on purpose") {
			t.Errorf("log lacks the traceback")
		}
	})
	t.Run("a running batch shows its application id and UI", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		id := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["3","%s/release","%s/marker"]}`, testdata(t, "jobs/lines.py"), dir, dir))
		var view map[string]any
		waitFor(t, sparkTimeout, "the batch's appId", func() bool {
			view = s.do("GET", fmt.Sprintf("/batches/%d", id), "").json(t)
			return view["appId"] != nil || view["state"] == "dead"
		})
		appID, _ := view["appId"].(string)
		ui, _ := view["appInfo"].(map[string]any)["sparkUiUrl"].(string)
		if !strings.HasPrefix(appID, "local-") || ui == "" {
			t.Fatalf("appId %v, sparkUiUrl %q; want the driver's local-… id and its UI", view["appId"], ui)
		}
		if got := httpGet(t, ui+"/api/v1/applications"); !strings.Contains(got, appID) {
			t.Errorf("the UI at %s does not serve application %s: %.200s", ui, appID, got)
		}
		if err := os.WriteFile(dir+"/release", nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if got := s.waitState(id, sparkTimeout, "success", "dead"); got != "success" {
			t.Fatalf("lines.py ended %s", got)
		}
	})
	t.Run("delete kills the application", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		id := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["10","%s/release","%s/marker"],"conf":{"spark.ui.enabled":"false"}}`,
			testdata(t, "jobs/lines.py"), dir, dir))
		waitFor(t, sparkTimeout, "the job to print", func() bool {
			return strings.Contains(strings.Join(s.allLog(id, 1000), "\n"), "line 9 of 10")
		})
		tag := filepath.Base(appDir(t, s, id))
		if len(processesWithTag(tag)) == 0 {
			t.Fatalf("no process carries the tag %s while the job runs", tag)
		}
		if r := s.do("DELETE", fmt.Sprintf("/batches/%d", id), ""); r.status != 200 {
			t.Fatalf("DELETE = %d %s", r.status, r.body)
		}
		if r := s.do("GET", fmt.Sprintf("/batches/%d", id), ""); r.status != 404 {
			t.Errorf("GET after DELETE = %d, want 404", r.status)
		}
		waitFor(t, 30*time.Second, "the application's processes to end", func() bool { return len(processesWithTag(tag)) == 0 })
		if _, err := os.Stat(dir + "/marker"); err == nil {
			t.Errorf("the killed job ran to its end")
		}
	})
}

// The server is SIGKILLed while a job runs; the job goes on, and the restarted server
// re-attaches to it (still "running"), then records its true final state and whole log.
func TestRealSparkSurvivesServerKill(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home})
	dir := t.TempDir()
	const n = 3000
	id := s.createBatch(fmt.Sprintf(`{"file":"%s","args":["%d","%s/release","%s/marker"],"conf":{"spark.ui.enabled":"false"}}`,
		testdata(t, "jobs/lines.py"), n, dir, dir))
	s.waitState(id, sparkTimeout, "running")
	waitFor(t, sparkTimeout, "the job to start printing", func() bool {
		return strings.Contains(strings.Join(s.allLog(id, 5000), "\n"), "line 0 of")
	})
	s.kill()
	s.start()
	if got := s.state(id); got != "running" {
		t.Fatalf("after restart the batch is %s, want running (re-attached)", got)
	}
	os.WriteFile(dir+"/release", nil, 0o644)
	if got := s.waitState(id, sparkTimeout, "success", "dead"); got != "success" {
		t.Fatalf("ended %s, want success", got)
	}
	var numbered []string
	for _, l := range s.allLog(id, 700) {
		if strings.HasPrefix(l, "line ") {
			numbered = append(numbered, l)
		}
	}
	if len(numbered) != n {
		t.Fatalf("log has %d of the job's %d lines", len(numbered), n)
	}
	for i, l := range numbered {
		if l != fmt.Sprintf("line %d of %d", i, n) {
			t.Fatalf("log line %d = %q: out of order or damaged", i, l)
		}
	}
	marker, _ := os.ReadFile(dir + "/marker")
	if c := strings.Count(string(marker), "ran"); c != 1 {
		t.Errorf("the job ran %d times, want exactly once", c)
	}
}
