package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// BenchmarkYarnSubmission compares, on the test YARN in cluster mode, the time from POST
// /batches to the batch's appId with the time of spark-submit by hand to its return (with
// waitAppCompletion=false it returns once YARN accepted the application), alternating the two
// so that both meet the same machine (make bench-yarn).
func BenchmarkYarnSubmission(b *testing.B) {
	t := b
	home := os.Getenv("SPARK_HOME")
	if home == "" || os.Getenv("SPARKGATE_YARN_CLASSPATH") == "" {
		b.Skip("needs SPARK_HOME and SPARKGATE_YARN_CLASSPATH (make bench-yarn)")
	}
	yarnOnce.Do(func() { yarnShared, yarnErr = startYarn(os.Getenv("SPARKGATE_YARN_CLASSPATH")) })
	if yarnErr != nil {
		b.Fatal(yarnErr)
	}
	y := yarnShared
	env := y.sparkEnv(t, home)
	s := startServer(t, serverOpts{sparkHome: home, args: []string{"--spark-master", "yarn", "--spark-deploy-mode", "cluster",
		"--cluster-poll-interval", "200ms"}, env: env})
	defer s.stop()
	pi := filepath.Join(examplesDir(t), "pi.py")
	compareSubmissions(b, s, fmt.Sprintf(`{"file":"%s","args":["2"]}`, pi), func() *exec.Cmd {
		submit := exec.Command(filepath.Join(home, "bin", "spark-submit"), "--master", "yarn", "--deploy-mode", "cluster",
			"--conf", "spark.yarn.submit.waitAppCompletion=false", "--conf", "spark.yarn.tags=sparkgate-bench", pi, "2")
		submit.Env = append(os.Environ(), env...)
		return submit
	})
}

// compareSubmissions times, b.N times and alternating so that both meet the same machine,
// POST /batches of body to the batch's appId against the command byHand makes, run to its
// return; it reports their medians and ratio.
func compareSubmissions(b *testing.B, s *server, body string, byHand func() *exec.Cmd) {
	var gateway, manual []time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		id := s.createBatch(body)
		for s.do("GET", fmt.Sprintf("/batches/%d", id), "").json(b)["appId"] == nil {
			time.Sleep(20 * time.Millisecond)
		}
		gateway = append(gateway, time.Since(start))

		start = time.Now()
		if out, err := byHand().CombinedOutput(); err != nil {
			b.Fatalf("by hand: %v\n%s", err, out)
		}
		manual = append(manual, time.Since(start))
		s.waitState(id, sparkTimeout, "success", "dead")
	}
	b.ReportMetric(medianOf(gateway).Seconds(), "s-post-to-appId")
	b.ReportMetric(medianOf(manual).Seconds(), "s-spark-submit")
	b.ReportMetric(medianOf(gateway).Seconds()/medianOf(manual).Seconds(), "ratio")
}

// medianOf is the median of d (sorted in place).
func medianOf(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}
