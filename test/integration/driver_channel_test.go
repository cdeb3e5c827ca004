package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// The drivers' channel on real Spark: with --csrf-protection on, a session still starts and
// answers (a driver is no browser; its secret is its proof); once its driver runs, the
// secret is in no process's environment, which any process of the OS user reads in /proc —
// the session's own code looks, in every process — and in no file left on disk.
func TestDriverChannelKeepsItsSecret(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home, args: []string{"--csrf-protection"}})
	s.authorize = func(r *http.Request) { r.Header.Set("X-Requested-By", "sparkgate tests") }
	if r := s.do("POST", "/sessions", `{"kind":"pyspark","conf":{"spark.ui.enabled":"false"}}`); r.status != 201 {
		t.Fatalf("POST /sessions = %d %s", r.status, r.body)
	}
	waitFor(t, sparkTimeout, "the session to be idle with CSRF protection on", func() bool { return s.sessionState(0) == "idle" })
	// the processes of this server's applications: their environment names its data directory
	code := fmt.Sprintf(`import glob, json
found, mine = [], 0
for p in glob.glob("/proc/[0-9]*/environ"):
    try:
        env = open(p, "rb").read()
    except OSError:
        continue
    if %q.encode() in env:
        mine += 1
        if b"SPARKGATE_SECRET=" in env:
            found.append(p)
print(json.dumps({"processes": mine, "environments": found, "files": glob.glob(%q)}))`, s.dataDir, s.dataDir+"/apps/*/driver.secret*")
	body, _ := json.Marshal(map[string]string{"code": code})
	var got struct {
		Processes           int
		Environments, Files []string
	}
	if err := json.Unmarshal([]byte(textOf(t, s.runStatement(0, string(body)))), &got); err != nil {
		t.Fatal(err)
	}
	if got.Processes < 3 { // supervisor, spark-submit's JVM, the Python driver
		t.Errorf("found %d processes of the session; the scan does not see them", got.Processes)
	}
	if len(got.Environments) > 0 || len(got.Files) > 0 {
		t.Errorf("the driver's secret is readable: in the environments of %v, in files %v", got.Environments, got.Files)
	}
}
