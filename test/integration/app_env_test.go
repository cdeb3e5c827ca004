package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sparkgate/sparkgate/internal/store/postgres/pgtest"
)

// A job that prints its environment finds Spark's settings and what the operator let
// through, never the gateway's secrets: the store's DSN with its password, a cloud's keys,
// the gateway's own settings.
func TestApplicationsDoNotSeeTheGatewaysSecrets(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	s := startServer(t, serverOpts{sparkHome: testdata(t, "stubspark"), args: []string{"--app-env", "TEAM_*"},
		env: []string{"SPARKGATE_STORE=" + db, "AWS_SECRET_ACCESS_KEY=do-not-leak", "PGPASSWORD=do-not-leak",
			"SPARK_CONF_SETTING=kept", "TEAM_BUCKET=kept"}})
	id := s.createBatch(fmt.Sprintf(`{"file":%q}`, testdata(t, "jobs/printenv.py")))
	s.waitState(id, sparkTimeout, "success")
	log := strings.Join(s.allLog(id, 1000), "\n")
	for _, leaked := range []string{"do-not-leak", "SPARKGATE_STORE", db} {
		if strings.Contains(log, leaked) {
			t.Errorf("the job's environment shows %q:\n%s", leaked, log)
		}
	}
	for _, kept := range []string{"SPARK_CONF_SETTING=kept", "TEAM_BUCKET=kept", "SPARK_HOME="} {
		if !strings.Contains(log, kept) {
			t.Errorf("the job's environment lacks %q:\n%s", kept, log)
		}
	}
}

// A conf value reaches the application, and no command line: spark-submit reads it from a
// private properties file, not from an argument that ps shows every local user.
func TestConfReachesTheApplicationOffTheCommandLine(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home})
	secret := "s3cr3t-" + strings.Repeat("x", 12)
	id := s.createBatch(fmt.Sprintf(`{"file":%q,"args":["spark.hadoop.fs.s3a.secret.key"],"conf":{"spark.hadoop.fs.s3a.secret.key":%q}}`,
		testdata(t, "jobs/confsecret.py"), secret))
	s.endsAs(t, id, "success", fmt.Sprintf("conf spark.hadoop.fs.s3a.secret.key=%s; on 0 command lines", secret))
}

// A job that prints look-alikes of Spark's start lines (another UI, a YARN id) does not set its
// batch's appId or Spark UI link: they come from the application's own UI, which carries its
// tag.
func TestAJobCannotNameItsOwnAppID(t *testing.T) {
	home := sparkHome(t)
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home})
	id := s.createBatch(fmt.Sprintf(`{"file":%q,"args":["8"]}`, testdata(t, "jobs/lookalike.py")))
	s.waitState(id, sparkTimeout, "success", "dead")
	view := s.do("GET", fmt.Sprintf("/batches/%d", id), "").json(t)
	appID, _ := view["appId"].(string)
	ui, _ := view["appInfo"].(map[string]any)["sparkUiUrl"].(string)
	if !strings.HasPrefix(appID, "local-") || strings.HasSuffix(ui, ":1") || ui == "" {
		t.Errorf("appId %q, sparkUiUrl %q; want the application's own (local-…, its UI), never the job's look-alikes", appID, ui)
	}
}
