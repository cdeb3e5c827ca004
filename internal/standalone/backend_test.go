package standalone_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/standalone"
	"github.com/sparkgate/sparkgate/internal/standalone/standalonetest"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// The test binary doubles as the sparkgate binary: its supervise command, and the
// standalone-submit that the supervisor runs.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "standalone-submit" {
		os.Exit(standalone.Submit(os.Args[2:], os.Stdout, os.Stderr))
	}
	switch os.Getenv("STANDALONE_TEST_ROLE") {
	case "detach":
		os.Setenv("STANDALONE_TEST_ROLE", "run")
		os.Exit(supervisor.Detach([]string{os.Args[0], "supervise"}, supervisor.Dir(os.Args[3]), os.Args[5:]))
	case "run":
		os.Exit(supervisor.Run(supervisor.Dir(os.Args[3]), os.Args[5:], nil))
	}
	os.Exit(m.Run())
}

type fixture struct {
	t      *testing.T
	master *standalonetest.Master
	apps   string
	jobs   string
	rest   string // where the backend's submissions go (the stand-in, unless a test says)
}

func newFixture(t *testing.T) *fixture {
	m := standalonetest.New()
	t.Cleanup(m.Close)
	f := &fixture{t: t, master: m, apps: t.TempDir(), jobs: t.TempDir(), rest: m.URL}
	t.Cleanup(f.awaitSupervisors) // before the directories go: a supervisor may still write its exit
	if err := os.WriteFile(filepath.Join(f.jobs, "job.jar"), []byte("not really a jar"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// backend is a new backend over the fixture's applications, as a restarted gateway makes.
func (f *fixture) backend(poll time.Duration) *standalone.Backend {
	f.t.Helper()
	l, err := launcher.New(launcher.Config{Master: "spark://stub:7077", DeployMode: "cluster", AppsDir: f.apps,
		LocalDirWhitelist: []string{f.jobs}, SupervisorCmd: []string{os.Args[0], "supervise"},
		Env: append(os.Environ(), "STANDALONE_TEST_ROLE=detach")})
	if err != nil {
		f.t.Fatal(err)
	}
	return standalone.New(l, standalone.NewMaster([]string{f.rest}, []string{f.master.URL}),
		standalone.Config{SubmitCmd: []string{os.Args[0], "standalone-submit"}, PollInterval: poll, SubmitWait: time.Minute},
		slog.New(slog.DiscardHandler))
}

// submit starts a cluster-mode job for tag and waits for the Master to know its driver.
func (f *fixture) submit(b *standalone.Backend, tag string) launcher.App {
	f.t.Helper()
	argv, err := b.Command(&launcher.Spec{File: filepath.Join(f.jobs, "job.jar"), ClassName: "Job", Args: []string{"--x", "1"},
		Conf: map[string]string{"spark.executor.memory": "1g"}}, tag)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := b.Start(context.Background(), tag, argv); err != nil {
		f.t.Fatal(err)
	}
	return f.await(b, tag, func(a launcher.App) bool { return a.ID != "" || a.Status == supervisor.Finished })
}

// awaitSupervisors waits for every application's supervisor to have recorded its exit.
func (f *fixture) awaitSupervisors() {
	entries, _ := os.ReadDir(f.apps)
	for _, e := range entries {
		d := supervisor.Dir(filepath.Join(f.apps, e.Name()))
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if st, _, _ := supervisor.Inspect(d); st != supervisor.Running {
				break
			}
		}
	}
}

func (f *fixture) await(b *standalone.Backend, tag string, done func(launcher.App) bool) launcher.App {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		app, err := b.Inspect(context.Background(), tag)
		if err == nil && done(app) {
			return app
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(b.LogPath(tag))
			f.t.Fatalf("gave up waiting: last %+v, %v; log:\n%s", app, err, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestADriverIsSubmittedOnceAndFollowedToItsEnd(t *testing.T) {
	f := newFixture(t)
	b := f.backend(time.Millisecond)
	tag := launcher.NewTag("batch", 1)
	app := f.submit(b, tag)
	if _, err := b.Start(context.Background(), tag, mustCommand(t, b, f, tag)); err != nil { // a retried launch
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(f.master.Created()); n != 1 {
		t.Fatalf("%d submissions for two starts of one tag, want 1", n)
	}
	if app.Status != supervisor.Running || app.Submitting || !strings.HasPrefix(app.ID, "driver-") || app.SparkUIURL != f.master.URL ||
		app.DriverLogURL != f.master.URL+"/logPage/?driverId="+app.ID+"&logType=stderr" {
		t.Errorf("running driver: %+v; want its id, the Master's page and the Worker's log page", app)
	}
	req := f.master.RequestOf(tag)
	props := req["sparkProperties"].(map[string]any)
	if req["mainClass"] != "Job" || req["appResource"] != "file:"+filepath.Join(f.jobs, "job.jar") ||
		fmt.Sprint(req["appArgs"]) != "[--x 1]" || props["spark.executor.memory"] != "1g" ||
		props["spark.submit.deployMode"] != "cluster" || props["spark.master"] != "spark://stub:7077" {
		t.Errorf("the Master got %v", req)
	}
	f.master.SetState(app.ID, "FINISHED")
	end := f.await(b, tag, func(a launcher.App) bool { return a.Status == supervisor.Finished })
	if end.End == nil || end.End.Outcome != launcher.Succeeded || end.ID != app.ID {
		t.Fatalf("end %+v", end)
	}
	again, err := f.backend(time.Millisecond).Inspect(context.Background(), tag)
	if err != nil || again.End == nil || again.End.Outcome != launcher.Succeeded {
		t.Errorf("a restarted gateway sees %+v, %v; want the same success", again, err)
	}
	log, _ := os.ReadFile(b.LogPath(tag))
	for _, want := range []string{"accepted the driver as " + app.ID, "stdout of " + app.ID, "stderr of " + app.ID} {
		if strings.Count(string(log), want) != 1 {
			t.Errorf("the log has %q %d times, want once:\n%s", want, strings.Count(string(log), want), log)
		}
	}
}

func mustCommand(t *testing.T, b *standalone.Backend, f *fixture, tag string) []string {
	argv, err := b.Command(&launcher.Spec{File: filepath.Join(f.jobs, "job.jar"), ClassName: "Job"}, tag)
	if err != nil {
		t.Fatal(err)
	}
	return argv
}

func TestTheMastersDriverStatesAreTheOutcomes(t *testing.T) {
	f := newFixture(t)
	b := f.backend(time.Millisecond)
	for i, c := range []struct {
		state   string
		outcome launcher.Outcome
		reason  string
	}{
		{"FINISHED", launcher.Succeeded, ""},
		{"FAILED", launcher.Failed, "exited with a failure"},
		{"KILLED", launcher.Killed, "killed"},
		{"ERROR", launcher.Failed, "could not run"},
	} {
		t.Run(c.state, func(t *testing.T) {
			tag := launcher.NewTag("batch", int64(i))
			app := f.submit(b, tag)
			f.master.SetState(app.ID, c.state)
			end := f.await(b, tag, func(a launcher.App) bool { return a.Status == supervisor.Finished }).End
			if end == nil || end.Outcome != c.outcome || !strings.Contains(end.Reason, c.reason) {
				t.Errorf("%s: end %+v, want %s with %q", c.state, end, c.outcome, c.reason)
			}
		})
	}
}

func TestADriverTheMastersPageNoLongerListsIsAskedByItsId(t *testing.T) {
	f := newFixture(t)
	b := f.backend(time.Millisecond)
	tag := launcher.NewTag("batch", 1)
	app := f.submit(b, tag)
	f.master.SetState(app.ID, "FAILED")
	f.master.Forget(app.ID)
	end := f.await(b, tag, func(a launcher.App) bool { return a.Status == supervisor.Finished }).End
	if end.Outcome != launcher.Failed || f.master.StatusRequests.Load() == 0 {
		t.Errorf("end %+v after %d status requests; want the REST server's FAILED", end, f.master.StatusRequests.Load())
	}
}

func TestFollowingManyDriversCostsOneRequestPerPoll(t *testing.T) {
	f := newFixture(t)
	const drivers, poll = 200, 20 * time.Millisecond
	b := f.backend(poll)
	var tags []string
	for i := range drivers {
		tag := launcher.NewTag("batch", int64(i))
		tags = append(tags, tag)
		id := fmt.Sprintf("driver-1-%04d", i)
		f.master.Add(id, "RUNNING")
		standalone.RecordForTest(t, b, tag, id)
	}
	start := time.Now()
	for time.Since(start) < 10*poll {
		for _, tag := range tags {
			if app, err := b.Inspect(context.Background(), tag); err != nil || app.Status != supervisor.Running || app.ID == "" {
				t.Fatalf("%s: %+v, %v", tag, app, err)
			}
		}
	}
	polls := float64(time.Since(start)) / float64(poll)
	if got := f.master.JSONRequests.Load(); float64(got) > polls+2 {
		t.Errorf("%d /json/ requests in %.0f poll intervals for %d drivers; want one per interval", got, polls, drivers)
	}
	if n := f.master.StatusRequests.Load(); n != 0 {
		t.Errorf("%d status requests for drivers the page lists", n)
	}
}

func TestAMasterUnreachableAtSubmitDelaysTheDriverWithoutLosingIt(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there for now
	f.rest = "http://" + addr
	b := f.backend(time.Millisecond)
	tag := launcher.NewTag("batch", 1)
	if _, err := b.Start(context.Background(), tag, mustCommand(t, b, f, tag)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if app, _ := b.Inspect(context.Background(), tag); app.Status != supervisor.Running || !app.Submitting || app.ID != "" {
		t.Fatalf("with no Master: %+v; want it still being submitted", app)
	}
	// the Master comes (back) at that address
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the address was taken meanwhile: %v", err)
	}
	proxy := httptest.NewUnstartedServer(f.master.Handler())
	proxy.Listener = ln
	proxy.Start()
	defer proxy.Close()
	app := f.await(b, tag, func(a launcher.App) bool { return a.ID != "" || a.Status == supervisor.Finished })
	if app.Status != supervisor.Running || len(f.master.Created()) != 1 {
		t.Fatalf("after the Master came: %+v, %d submissions", app, len(f.master.Created()))
	}
	if log, _ := os.ReadFile(b.LogPath(tag)); !strings.Contains(string(log), "trying again") {
		t.Errorf("the log does not say the submission waited:\n%s", log)
	}
}

func TestARefusedSubmissionEndsFailedInTheMastersWords(t *testing.T) {
	f := newFixture(t)
	f.master.Refuse("Can only accept driver submissions in ALIVE state.")
	b := f.backend(time.Millisecond)
	tag := launcher.NewTag("batch", 1)
	app := f.submit(b, tag)
	if app.End == nil || app.End.Outcome != launcher.Failed || !strings.Contains(app.End.Reason, "ALIVE state") {
		t.Errorf("refused: %+v", app.End)
	}
}

func TestSigtermKillsTheDriverThroughTheMaster(t *testing.T) {
	f := newFixture(t)
	b := f.backend(time.Millisecond)
	tag := launcher.NewTag("batch", 1)
	app := f.submit(b, tag)
	if sent, err := b.Kill(context.Background(), tag, false); err != nil || !sent {
		t.Fatalf("SIGTERM: %v, %v", sent, err)
	}
	if st := f.master.State(app.ID); st != "KILLED" {
		t.Errorf("the Master says %s after SIGTERM, want KILLED", st)
	}
	end := f.await(b, tag, func(a launcher.App) bool { return a.Status == supervisor.Finished }).End
	if end.Outcome != launcher.Killed {
		t.Errorf("end %+v, want killed", end)
	}
}

func TestWhatTheRESTSubmissionCannotCarryIsAClientError(t *testing.T) {
	f := newFixture(t)
	b := f.backend(time.Millisecond)
	for name, spec := range map[string]*launcher.Spec{
		"python":        {File: filepath.Join(f.jobs, "job.py")},
		"no main class": {File: filepath.Join(f.jobs, "job.jar")},
	} {
		if _, err := b.Command(spec, launcher.NewTag("batch", 1)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAMasterThatStopsAnsweringLeavesTheDriverAsItWas(t *testing.T) {
	f := newFixture(t)
	b := f.backend(time.Millisecond)
	tag := launcher.NewTag("batch", 1)
	app := f.submit(b, tag)
	f.master.Fail(true)
	time.Sleep(5 * time.Millisecond)
	if got, err := b.Inspect(context.Background(), tag); err == nil || got.Status != supervisor.Running || got.End != nil {
		t.Errorf("with the Master failing: %+v, %v; want it still running, and the error", got, err)
	}
	f.master.Fail(false)
	f.master.SetState(app.ID, "FINISHED")
	if end := f.await(b, tag, func(a launcher.App) bool { return a.Status == supervisor.Finished }).End; end.Outcome != launcher.Succeeded {
		t.Errorf("once it answers again: %+v", end)
	}
}

// A request that reached a Master whose answer was lost is not sent again: the Master may have
// taken the driver, and a second one would run the application twice.
func TestALostAnswerIsNotSubmittedAgain(t *testing.T) {
	f := newFixture(t)
	var requests atomic.Int32
	lost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close() // took it, and answers nothing
	}))
	defer lost.Close()
	f.rest = lost.URL
	b := f.backend(time.Millisecond)
	tag := launcher.NewTag("batch", 1)
	app := f.submit(b, tag)
	if app.End == nil || app.End.Outcome != launcher.Failed || !strings.Contains(app.End.Reason, "unknown") {
		t.Errorf("end %+v; want a failure saying the outcome is unknown", app.End)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d submissions after a lost answer, want 1", n)
	}
}
