package launcher

import (
	"slices"
	"testing"
)

// Applications get what Spark, Hadoop and Python read, and what the operator adds; never the
// store's DSN, a cloud's keys or the gateway's own settings.
func TestAppEnvironmentKeepsTheGatewaysSecrets(t *testing.T) {
	environ := []string{"PATH=/usr/bin", "HOME=/root", "SPARK_HOME=/spark", "HADOOP_CONF_DIR=/etc/hadoop", "LC_ALL=C",
		"SPARKGATE_STORE=postgres://gw:secret@db/gw", "PGPASSWORD=secret", "AWS_SECRET_ACCESS_KEY=k", "GOOGLE_APPLICATION_CREDENTIALS=/k.json",
		"MY_JOB_SETTING=x", "SPARKGATE_AUTH=basic"}
	got := AppEnvironment(environ, []string{"MY_JOB_*"})
	want := []string{"PATH=/usr/bin", "HOME=/root", "SPARK_HOME=/spark", "HADOOP_CONF_DIR=/etc/hadoop", "LC_ALL=C", "MY_JOB_SETTING=x"}
	if !slices.Equal(got, want) {
		t.Errorf("= %q\nwant %q", got, want)
	}
}
