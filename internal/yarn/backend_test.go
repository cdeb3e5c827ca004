package yarn_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/supervisor"
	"github.com/sparkgate/sparkgate/internal/yarn"
	"github.com/sparkgate/sparkgate/internal/yarn/yarntest"
)

func newBackend(t *testing.T, rm *yarntest.RM, poll time.Duration) *yarn.Backend {
	t.Helper()
	l, err := launcher.New(launcher.Config{Master: "yarn", DeployMode: "cluster", AppsDir: t.TempDir(), SupervisorCmd: []string{"/bin/false"}})
	if err != nil {
		t.Fatal(err)
	}
	return yarn.New(l, yarn.NewResourceManager(rm.URL, nil), yarn.Config{PollInterval: poll}, slog.New(slog.DiscardHandler))
}

func runningApp(rm *yarntest.RM, id, tag string) yarn.Application {
	return yarn.Application{ID: id, State: "RUNNING", FinalStatus: "UNDEFINED", TrackingURL: "http://rm/proxy/" + id + "/",
		AMContainerLogs: rm.ContainerLogs("container_" + id), ApplicationTags: "sparkgate," + tag}
}

func TestTheResourceManagerTellsStateIdLinksAndTrueFinalStatus(t *testing.T) {
	rm := yarntest.New()
	defer rm.Close()
	b := newBackend(t, rm, time.Millisecond)
	ctx := context.Background()
	cases := []struct {
		state, final, diagnostics string
		status                    supervisor.Status
		outcome                   launcher.Outcome
	}{
		{"ACCEPTED", "UNDEFINED", "", supervisor.Running, ""},
		{"RUNNING", "UNDEFINED", "", supervisor.Running, ""},
		{"FINISHED", "SUCCEEDED", "", supervisor.Finished, launcher.Succeeded},
		// a failing Spark application ends FINISHED/FAILED after its attempts, not FAILED
		{"FINISHED", "FAILED", "User application exited with status 1", supervisor.Finished, launcher.Failed},
		{"FAILED", "FAILED", "queue nope does not exist", supervisor.Finished, launcher.Failed},
		{"KILLED", "KILLED", "Application killed by user.", supervisor.Finished, launcher.Killed},
	}
	for i, c := range cases {
		t.Run(c.state+"/"+c.final, func(t *testing.T) {
			id, tag := fmt.Sprintf("application_1_%04d", i), fmt.Sprintf("sparkgate-batch-%d-x", i)
			a := runningApp(rm, id, tag)
			a.State, a.FinalStatus, a.Diagnostics = c.state, c.final, c.diagnostics
			rm.Add(a)
			time.Sleep(2 * time.Millisecond)
			app, err := b.Inspect(ctx, tag)
			if err != nil {
				t.Fatal(err)
			}
			if app.Status != c.status || app.ID != id || app.DriverLogURL != a.AMContainerLogs {
				t.Errorf("got %+v", app)
			}
			if app.Submitting != (c.state == "ACCEPTED") {
				t.Errorf("submitting = %v in state %s; YARN runs it from RUNNING on", app.Submitting, c.state)
			}
			if (c.state == "RUNNING") != (app.SparkUIURL == a.TrackingURL) {
				t.Errorf("sparkUiUrl %q in state %s; the tracking URL is the UI only while it runs", app.SparkUIURL, c.state)
			}
			if c.outcome == "" {
				if app.End != nil {
					t.Errorf("an active application has an end: %+v", app.End)
				}
				return
			}
			if app.End == nil || app.End.Outcome != c.outcome {
				t.Fatalf("end %+v, want %s", app.End, c.outcome)
			}
			if c.diagnostics != "" && !strings.Contains(app.End.Reason, c.diagnostics) {
				t.Errorf("reason %q lacks YARN's diagnostics %q", app.End.Reason, c.diagnostics)
			}
			b.Inspect(ctx, tag) // seen ended twice: its driver's output is kept once
			log, _ := os.ReadFile(b.LogPath(tag))
			for _, file := range []string{"stdout", "stderr"} {
				if n := strings.Count(string(log), file+" of container_"+id); n != 1 {
					t.Errorf("the driver's %s is %d times in the log:\n%s", file, n, log)
				}
			}
		})
	}
	if app, err := b.Inspect(ctx, "sparkgate-batch-99-x"); err != nil || app.Status != supervisor.NotStarted {
		t.Errorf("a tag neither YARN nor this host knows: %+v, %v; want not started (launching is safe)", app, err)
	}
}

func TestFollowingManyApplicationsCostsOneRequestPerPoll(t *testing.T) {
	rm := yarntest.New()
	defer rm.Close()
	const apps, poll = 200, 20 * time.Millisecond
	b := newBackend(t, rm, poll)
	for i := range apps {
		rm.Add(runningApp(rm, fmt.Sprintf("application_1_%04d", i), fmt.Sprintf("sparkgate-batch-%d-x", i)))
	}
	ctx := context.Background()
	// every application asked 10 times a poll interval, from its own goroutine, as the
	// tracker's handles do
	var wg sync.WaitGroup
	start := time.Now()
	for i := range apps {
		wg.Go(func() {
			for range 50 {
				if app, err := b.Inspect(ctx, fmt.Sprintf("sparkgate-batch-%d-x", i)); err != nil || app.Status != supervisor.Running {
					t.Errorf("app %d: %+v, %v", i, app, err)
					return
				}
				time.Sleep(poll / 10)
			}
		})
	}
	wg.Wait()
	polls := int64(time.Since(start)/poll) + 1
	// the first refresh looks up every tag it was not asked for before (one request each);
	// after that, one request a poll
	if got := rm.Requests(); got > polls+apps+1 {
		t.Errorf("%d RM requests for %d applications over %d polls, want at most %d", got, apps, polls, polls+apps+1)
	}
	t.Logf("%d inspections in %d polls cost %d RM requests", apps*50, polls, rm.Requests())
}

func TestAnUnreachableResourceManagerIsRetriedWithBackoff(t *testing.T) {
	rm := yarntest.New()
	defer rm.Close()
	b := newBackend(t, rm, 10*time.Millisecond)
	rm.Add(runningApp(rm, "application_1_0001", "sparkgate-batch-1-x"))
	ctx := context.Background()
	rm.Down(true)
	if _, err := b.Inspect(ctx, "sparkgate-batch-1-x"); err == nil {
		t.Fatal("no error from an RM that answers 503")
	}
	before := rm.Requests()
	for range 20 {
		b.Inspect(ctx, "sparkgate-batch-1-x")
		time.Sleep(time.Millisecond)
	}
	// 20 ms of asking: the backoff (10, 20, 40 ms…) lets at most a few requests through
	if n := rm.Requests() - before; n > 3 {
		t.Errorf("%d requests to a down RM in 20 ms; want backoff", n)
	}
	rm.Down(false)
	time.Sleep(100 * time.Millisecond)
	if app, err := b.Inspect(ctx, "sparkgate-batch-1-x"); err != nil || app.Status != supervisor.Running || app.ID != "application_1_0001" {
		t.Errorf("after the RM is back: %+v, %v", app, err)
	}
}

func TestSigtermKillsThroughTheResourceManager(t *testing.T) {
	rm := yarntest.New()
	defer rm.Close()
	b := newBackend(t, rm, time.Millisecond)
	rm.Add(runningApp(rm, "application_1_0001", "sparkgate-batch-1-x"))
	ctx := context.Background()
	if sent, err := b.Kill(ctx, "sparkgate-batch-1-x", false); err != nil || !sent {
		t.Fatalf("Signal = %v, %v", sent, err)
	}
	if got := rm.App("application_1_0001"); got.State != "KILLED" {
		t.Fatalf("the RM shows %s after the kill", got.State)
	}
	time.Sleep(2 * time.Millisecond)
	app, err := b.Inspect(ctx, "sparkgate-batch-1-x")
	if err != nil || app.Status != supervisor.Finished || app.End.Outcome != launcher.Killed {
		t.Errorf("after the kill: %+v, %v", app, err)
	}
	if sent, err := b.Kill(ctx, "sparkgate-batch-1-x", false); err != nil || sent {
		t.Errorf("a second kill = %v, %v; want nothing to signal", sent, err)
	}
}

func TestWebAddressFollowsTheHadoopConfiguration(t *testing.T) {
	dir := t.TempDir()
	site := func(props string) {
		if err := os.WriteFile(filepath.Join(dir, "yarn-site.xml"), []byte("<configuration>"+props+"</configuration>"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	site(`<property><name>yarn.resourcemanager.webapp.address</name><value>rm.example:8188</value></property>`)
	if got, err := yarn.WebAddress(env(map[string]string{"HADOOP_CONF_DIR": dir})); err != nil || got != "http://rm.example:8188" {
		t.Errorf("webapp.address: %q, %v", got, err)
	}
	site(`<property><name>yarn.resourcemanager.hostname</name><value>rm.example</value></property>`)
	if got, err := yarn.WebAddress(env(map[string]string{"YARN_CONF_DIR": dir})); err != nil || got != "http://rm.example:8088" {
		t.Errorf("hostname: %q, %v", got, err)
	}
	if _, err := yarn.WebAddress(env(nil)); err == nil {
		t.Error("no configuration directory gave no error")
	}
	if _, err := yarn.WebAddress(env(map[string]string{"HADOOP_CONF_DIR": t.TempDir()})); err == nil {
		t.Error("a directory without yarn-site.xml gave no error")
	}
}

func TestAClusterModeDriverGetsItsSettingsThroughAPrivatePropertiesFile(t *testing.T) {
	confDir, work := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(confDir, "spark-defaults.conf"), []byte("spark.yarn.jars local:/spark/jars/*\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(work, "supervisor")
	l, err := launcher.New(launcher.Config{Master: "yarn", DeployMode: "cluster", AppsDir: t.TempDir(), Env: []string{"SPARK_CONF_DIR=" + confDir},
		// a supervisor that writes down its arguments and says it started as pid 4242
		SupervisorCmd: []string{"/bin/sh", "-c", `printf '%s\n' "$@" > "$0.args"; echo 4242`, record}})
	if err != nil {
		t.Fatal(err)
	}
	rm := yarntest.New()
	defer rm.Close()
	b := yarn.New(l, yarn.NewResourceManager(rm.URL, nil), yarn.Config{}, slog.New(slog.DiscardHandler))
	argv := []string{"/spark/bin/spark-submit", "--master=yarn", "--deploy-mode=cluster", "/gateway/driver.py"}
	if _, err := b.Start(context.Background(), "sparkgate-session-1-x", argv, "SPARKGATE_SECRET=s3cr3t", "SPARKGATE_URL=http://gw:8998"); err != nil {
		t.Fatal(err)
	}
	args, err := os.ReadFile(record + ".args")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(args), "s3cr3t") {
		t.Errorf("the secret is on spark-submit's command line:\n%s", args)
	}
	props := filepath.Join(filepath.Dir(l.LogPath("sparkgate-session-1-x")), "spark-submit.properties")
	if !strings.Contains(string(args), "--properties-file="+props) {
		t.Errorf("spark-submit is not given the properties file:\n%s", args)
	}
	info, err := os.Stat(props)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("properties file: %v, %v; want it readable by the gateway's user only", info, err)
	}
	content, _ := os.ReadFile(props)
	for _, want := range []string{"spark.yarn.jars local:/spark/jars/*", "spark.yarn.appMasterEnv.SPARKGATE_SECRET=s3cr3t",
		"spark.yarn.appMasterEnv.SPARKGATE_URL=http://gw:8998"} {
		if !strings.Contains(string(content), want) {
			t.Errorf("properties file lacks %q:\n%s", want, content)
		}
	}
}
