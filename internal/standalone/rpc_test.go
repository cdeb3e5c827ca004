package standalone_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/standalone"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// fakeSpark is a Spark installation whose spark-submit plays Spark's RPC client (it says it
// could not reach the Master once if dir/unreachable-once exists, then that the Master took
// driver-20261207000000-0001, or fails when dir/refuse exists) and whose spark-class records
// what it is asked (a kill); each records its arguments in dir.
func fakeSpark(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "bin"), 0o755)
	scripts := map[string]string{
		"spark-submit": `#!/bin/sh
echo "$@" >> "` + home + `/submits"
if [ -e "` + home + `/unreachable-once" ]; then rm "` + home + `/unreachable-once"
  echo 'Caused by: java.io.IOException: Failed to connect to /127.0.0.1:7077' >&2; exit 1; fi
if [ -e "` + home + `/refuse" ]; then echo 'Exception in thread "main" java.lang.IllegalArgumentException: bad resource' >&2; exit 1; fi
echo 'INFO ClientEndpoint: Driver successfully submitted as driver-20261207000000-0001' >&2
`,
		"spark-class": `#!/bin/sh
echo "$@" >> "` + home + `/classes"
`,
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(home, "bin", name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

// rpcBackend is a backend with no REST server: spark-submit of home submits over RPC.
func (f *fixture) rpcBackend(home string) *standalone.Backend {
	f.t.Helper()
	l, err := launcher.New(launcher.Config{SparkHome: home, Master: "spark://stub:7077", DeployMode: "cluster", AppsDir: f.apps,
		LocalDirWhitelist: []string{f.jobs}, SupervisorCmd: []string{os.Args[0], "supervise"},
		Env: append(os.Environ(), "STANDALONE_TEST_ROLE=detach")})
	if err != nil {
		f.t.Fatal(err)
	}
	return standalone.New(l, standalone.NewMaster(nil, []string{f.master.URL}),
		standalone.Config{SubmitCmd: []string{os.Args[0], "standalone-submit"}, PollInterval: time.Millisecond, SubmitWait: time.Minute},
		slog.New(slog.DiscardHandler))
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, _ := os.ReadFile(path)
	return string(b)
}

// Without a REST server, spark-submit submits the driver over RPC (REST disabled whatever the
// user's conf says), tried again while no Master can be reached; the driver is followed from
// the Master's page and killed by Spark's own client.
func TestADriverSubmittedOverRPC(t *testing.T) {
	f := newFixture(t)
	home := fakeSpark(t)
	os.WriteFile(filepath.Join(home, "unreachable-once"), nil, 0o600)
	f.master.Add("driver-20261207000000-0001", "RUNNING")
	b := f.rpcBackend(home)
	tag := launcher.NewTag("batch", 1)
	argv, err := b.Command(&launcher.Spec{File: filepath.Join(f.jobs, "job.jar"), ClassName: "Job",
		Conf: map[string]string{"spark.master.rest.enabled": "true"}}, tag)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Start(context.Background(), tag, argv); err != nil {
		t.Fatal(err)
	}
	app := f.await(b, tag, func(a launcher.App) bool { return a.ID != "" || a.Status == supervisor.Finished })
	if app.Status != supervisor.Running || app.ID != "driver-20261207000000-0001" {
		t.Fatalf("after the submission: %+v; log:\n%s", app, read(t, b.LogPath(tag)))
	}
	if n := strings.Count(read(t, filepath.Join(home, "submits")), "\n"); n != 2 {
		t.Errorf("spark-submit ran %d times, want twice (once unreachable)", n)
	}
	if len(f.master.Created()) != 0 {
		t.Error("a REST submission was sent")
	}
	props := read(t, filepath.Join(f.apps, tag, "spark-submit.properties"))
	if i, j := strings.LastIndex(props, "spark.master.rest.enabled=false"), strings.LastIndex(props, "spark.master.rest.enabled=true"); i < 0 || i < j {
		t.Errorf("the user's spark.master.rest.enabled is not overridden:\n%s", props)
	}
	if !strings.Contains(props, "spark.driver.extraJavaOptions=-XX:+IgnoreUnrecognizedVMOptions") {
		t.Errorf("a Spark 3 driver submitted over RPC lacks the module options Java 17 needs:\n%s", props)
	}
	if strings.Contains(read(t, filepath.Join(home, "submits")), "spark.master.rest") {
		t.Error("conf on spark-submit's command line, where every local user reads it")
	}
	if sent, err := b.Kill(context.Background(), tag, false); err != nil || !sent {
		t.Fatalf("Kill = %v, %v", sent, err)
	}
	launchertest.Eventually(t, "Spark's client asked to kill the driver", func() bool {
		return strings.Contains(read(t, filepath.Join(home, "classes")), "org.apache.spark.deploy.Client kill spark://stub:7077 driver-20261207000000-0001")
	})
	f.master.SetState("driver-20261207000000-0001", "KILLED")
	if end := f.await(b, tag, func(a launcher.App) bool { return a.Status == supervisor.Finished }); end.End.Outcome != launcher.Killed {
		t.Errorf("end %+v, want killed", end.End)
	}
}

// A submission spark-submit refuses ends the batch with spark-submit's reason.
func TestARefusedSubmissionOverRPC(t *testing.T) {
	f := newFixture(t)
	home := fakeSpark(t)
	os.WriteFile(filepath.Join(home, "refuse"), nil, 0o600)
	b := f.rpcBackend(home)
	tag := launcher.NewTag("batch", 2)
	argv := mustCommand(t, b, f, tag)
	if _, err := b.Start(context.Background(), tag, argv); err != nil {
		t.Fatal(err)
	}
	app := f.await(b, tag, func(a launcher.App) bool { return a.Status == supervisor.Finished })
	if app.End.Outcome != launcher.Failed || !strings.Contains(app.End.Reason, "bad resource") {
		t.Errorf("end %+v, want spark-submit's reason", app.End)
	}
}

// jwsProtected puts a JWSFilter before the stand-in: a request must carry a token signed
// with key, else 403, as Spark 4's filter answers.
func jwsProtected(t *testing.T, f *fixture, key []byte) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var claims jwt.Claims
		tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.HS256})
		if ok && err == nil {
			err = tok.Claims(key, &claims)
		}
		if !ok || err != nil || claims.Expiry == nil || claims.Expiry.Time().Before(time.Now()) {
			http.Error(w, "JWT Validate Fail", http.StatusForbidden)
			return
		}
		f.master.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A REST server behind Spark's JWSFilter takes the requests signed with its key; unsigned, the
// submission is refused with what to do, and the probe at start says so.
func TestSignedRequestsToAProtectedRESTServer(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte(base64.RawURLEncoding.EncodeToString(key)+"\n"), 0o600)
	read, err := standalone.ReadRESTSecret(secret)
	if err != nil || string(read) != string(key) {
		t.Fatalf("ReadRESTSecret = %q, %v", read, err)
	}
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte(base64.RawURLEncoding.EncodeToString(key[:16])), 0o600)
	if _, err := standalone.ReadRESTSecret(short); err == nil {
		t.Error("a 128-bit key passed; the JWSFilter takes 256 bits at least")
	}
	for _, signed := range []bool{true, false} {
		f := newFixture(t)
		f.rest = jwsProtected(t, f, key)
		l, err := launcher.New(launcher.Config{Master: "spark://stub:7077", DeployMode: "cluster", AppsDir: f.apps,
			LocalDirWhitelist: []string{f.jobs}, SupervisorCmd: []string{os.Args[0], "supervise"},
			Env: append(os.Environ(), "STANDALONE_TEST_ROLE=detach")})
		if err != nil {
			t.Fatal(err)
		}
		master := standalone.NewMaster([]string{f.rest}, []string{f.master.URL})
		cfg := standalone.Config{SubmitCmd: []string{os.Args[0], "standalone-submit"}, PollInterval: time.Millisecond, SubmitWait: time.Minute}
		if signed {
			master.SignWith(key)
			cfg.RESTSecretFile = secret
		}
		b := standalone.New(l, master, cfg, slog.New(slog.DiscardHandler))
		problems := strings.Join(b.Probe(context.Background()), "\n")
		if signed != (problems == "") || !signed && !strings.Contains(problems, "--standalone-rest-secret-file") {
			t.Errorf("signed %v: the probe says %q", signed, problems)
		}
		app := f.submit(b, launcher.NewTag("batch", 3))
		switch {
		case signed && (app.Status != supervisor.Running || !strings.HasPrefix(app.ID, "driver-")):
			t.Errorf("signed: %+v, want the driver taken", app)
		case !signed && (app.Status != supervisor.Finished || !strings.Contains(app.End.Reason, "--standalone-rest-secret-file")):
			t.Errorf("unsigned: %+v, want refused with what to do", app)
		}
	}
}

// The probe at start names what cannot be reached.
func TestTheProbeNamesWhatCannotBeReached(t *testing.T) {
	f := newFixture(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	l, err := launcher.New(launcher.Config{Master: "spark://" + strings.TrimPrefix(down.URL, "http://"), DeployMode: "cluster",
		AppsDir: f.apps, SupervisorCmd: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		rest       []string
		web        string
		wantPhrase []string
	}{
		{"rpc port and web UI down", nil, down.URL, []string{"RPC port", "web UIs"}},
		{"REST down", []string{down.URL}, f.master.URL, []string{"REST server " + down.URL}},
		{"all answer", []string{f.master.URL}, f.master.URL, nil},
	}
	for _, c := range cases {
		b := standalone.New(l, standalone.NewMaster(c.rest, []string{c.web}), standalone.Config{}, slog.New(slog.DiscardHandler))
		problems := b.Probe(context.Background())
		got := strings.Join(problems, "\n")
		if len(problems) != len(c.wantPhrase) {
			t.Errorf("%s: %d problems, want %d: %s", c.name, len(problems), len(c.wantPhrase), got)
		}
		for _, phrase := range c.wantPhrase {
			if !strings.Contains(got, phrase) {
				t.Errorf("%s: %q lacks %q", c.name, got, phrase)
			}
		}
	}
}
