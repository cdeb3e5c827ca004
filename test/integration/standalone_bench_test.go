package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkStandaloneSubmission compares, on the test standalone cluster in cluster mode, the
// time from POST /batches to the batch's appId (the driver's id) with the time of spark-submit
// by hand to its return (through the same REST submission server it returns once the Master
// took the driver), alternating the two so that both meet the same machine (make
// bench-standalone).
func BenchmarkStandaloneSubmission(b *testing.B) {
	t := b
	home := os.Getenv("SPARK_HOME")
	if home == "" {
		b.Skip("needs SPARK_HOME (make bench-standalone)")
	}
	c := sharedStandalone(t, home) // stopped by TestMain, as jobs are removed
	jobs := javaJobs(t, home)
	s := startServer(t, serverOpts{sparkHome: home, env: []string{"SPARK_LOCAL_IP=127.0.0.1"},
		args: []string{"--spark-master", c.master, "--spark-deploy-mode", "cluster", "--standalone-rest-url", c.rest,
			"--standalone-web-url", c.webUI, "--cluster-poll-interval", "200ms", "--local-dir-whitelist", jobs}})
	defer s.stop()
	pi := filepath.Join(jobs, "pi.jar")
	compareSubmissions(b, s, fmt.Sprintf(`{"file":"%s","args":["2"],"driverMemory":"512m","executorMemory":"512m"}`, pi), func() *exec.Cmd {
		submit := exec.Command(filepath.Join(home, "bin", "spark-submit"), "--master", "spark://"+strings.TrimPrefix(c.rest, "http://"),
			"--deploy-mode", "cluster", "--conf", "spark.master.rest.enabled=true", "--driver-memory", "512m",
			"--executor-memory", "512m", "--class", "SparkPi", pi, "2")
		submit.Env = append(os.Environ(), "SPARK_LOCAL_IP=127.0.0.1")
		return submit
	})
}
