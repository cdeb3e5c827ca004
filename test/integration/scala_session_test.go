package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A Scala session on real Spark (Scala 2.13 on Spark 4, 2.12 on 3.5): state across statements,
// printed output, Datasets of a case class on executors, errors, one SparkContext shared with
// Python, completion, cancel of a long job; then its idleTimeout ends it, Spark included.
func TestScalaSessionOnRealSpark(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home})
	r := s.do("POST", "/sessions", `{"kind":"scala","idleTimeout":"8s","conf":{"spark.ui.enabled":"false"}}`)
	if r.status != 201 || r.json(t)["kind"] != "spark" {
		t.Fatalf("POST /sessions = %d %s; want kind spark (scala is its alias)", r.status, r.body)
	}
	waitFor(t, sparkTimeout, "the session to be idle", func() bool { return s.sessionState(0) == "idle" })

	s.runStatement(0, `{"code":"val x = 21"}`)
	if got := textOf(t, s.runStatement(0, `{"code":"println(\"hi\")\nx * 2"}`)); !strings.HasPrefix(got, "hi\n") || !strings.Contains(got, "Int = 42") {
		t.Errorf("println then expression = %q", got)
	}
	// A case class is defined in a statement of its own before a Dataset uses it (spark-shell's rule).
	s.runStatement(0, `{"code":"case class P(a: Int)"}`)
	if got := textOf(t, s.runStatement(0, `{"code":"Seq(P(1), P(2)).toDS().map(p => p.a * 10).collect().sum"}`)); !strings.Contains(got, "= 30") {
		t.Errorf("Dataset of a case class = %q", got)
	}
	failed := s.runStatement(0, `{"code":"throw new RuntimeException(\"boom\")"}`)
	if failed["status"] != "error" || failed["ename"] != "java.lang.RuntimeException" || failed["evalue"] != "boom" {
		t.Errorf("runtime error = %v", failed)
	}
	compile := s.runStatement(0, `{"code":"val y: Int = \"s\""}`)
	if compile["status"] != "error" || !strings.Contains(fmt.Sprint(compile["evalue"]), "type mismatch") {
		t.Errorf("compile error = %v", compile)
	}
	// One SparkContext for every kind.
	s.runStatement(0, `{"code":"spark.range(3).createOrReplaceTempView(\"three\")"}`)
	if got := textOf(t, s.runStatement(0, `{"code":"spark.table('three').count()","kind":"pyspark"}`)); got != "3" {
		t.Errorf("a Scala view read from Python = %q", got)
	}
	r = s.do("POST", "/sessions/0/completion", `{"code":"sc.paralle","cursor":10}`)
	if !strings.Contains(fmt.Sprint(r.json(t)["candidates"]), "parallelize") {
		t.Errorf("Scala completion = %d %s", r.status, r.body)
	}

	r = s.do("POST", "/sessions/0/statements", `{"code":"sc.parallelize(1 to 2, 2).map { i => Thread.sleep(300000); i }.count()"}`)
	stmt := fmt.Sprintf("/sessions/0/statements/%d", int(r.json(t)["id"].(float64)))
	waitFor(t, 30*time.Second, "the long statement to run", func() bool { return s.do("GET", stmt, "").json(t)["state"] == "running" })
	s.do("POST", stmt+"/cancel", "")
	waitFor(t, 30*time.Second, "the statement to be cancelled", func() bool { return s.do("GET", stmt, "").json(t)["state"] == "cancelled" })
	if got := textOf(t, s.runStatement(0, `{"code":"x + 1"}`)); !strings.Contains(got, "= 22") {
		t.Errorf("after a cancel x + 1 = %q", got)
	}

	dirs := appDirOf(t, s, "session", 0)
	idleSince := time.Now()
	waitFor(t, 60*time.Second, "the idle timeout to delete the session", func() bool { return s.do("GET", "/sessions/0", "").status == 404 })
	t.Logf("deleted %.1fs after its last statement (idleTimeout 8s)", time.Since(idleSince).Seconds())
	if time.Since(idleSince) < 7*time.Second {
		t.Errorf("deleted after %s, before its idle timeout", time.Since(idleSince))
	}
	waitFor(t, 30*time.Second, "the driver's processes to end", func() bool { return len(processesWithTag(dirs)) == 0 })
}
