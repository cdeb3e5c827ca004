package launcher_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/launcher/backendtest"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// The test binary doubles as the sparkgate binary's supervise command.
func TestMain(m *testing.M) {
	switch os.Getenv("LAUNCHER_TEST_ROLE") {
	case "detach":
		os.Setenv("LAUNCHER_TEST_ROLE", "run")
		os.Exit(supervisor.Detach([]string{os.Args[0], "supervise"}, supervisor.Dir(os.Args[3]), os.Args[5:]))
	case "run":
		os.Exit(supervisor.Run(supervisor.Dir(os.Args[3]), os.Args[5:], nil))
	}
	os.Exit(m.Run())
}

// The local backend passes the suite with the stand-in spark-submit of the integration tests,
// which plays each program by its file's name.
func TestLocalBackendConformance(t *testing.T) {
	stub, err := filepath.Abs("../../test/integration/testdata/stubspark")
	if err != nil {
		t.Fatal(err)
	}
	apps := t.TempDir()
	jobs := t.TempDir()
	spec := func(name string, args ...string) *launcher.Spec {
		return &launcher.Spec{File: filepath.Join(jobs, name), Args: args}
	}
	backendtest.Run(t, backendtest.Harness{
		Backend: func(t *testing.T) launcher.Backend {
			l, err := launcher.New(launcher.Config{SparkHome: stub, Master: "local[1]", AppsDir: apps, LocalDirWhitelist: []string{jobs},
				SupervisorCmd: []string{os.Args[0], "supervise"},
				Env:           append(os.Environ(), "LAUNCHER_TEST_ROLE=detach")})
			if err != nil {
				t.Fatal(err)
			}
			return l
		},
		Marker:  func(dir, name string) *launcher.Spec { return spec("marker.py", dir, name) },
		Failing: func() *launcher.Spec { return spec("fail.py") },
		Lasting: func() *launcher.Spec { return spec("sleep.py") },
		Timeout: 20 * time.Second,
	})
}

// Applications run in the server's working directory for them, not the one it was started in.
func TestApplicationsRunInTheirWorkingDirectory(t *testing.T) {
	work, out := filepath.Join(t.TempDir(), "work"), filepath.Join(t.TempDir(), "cwd")
	l, err := launcher.New(launcher.Config{AppsDir: t.TempDir(), WorkDir: work, SupervisorCmd: []string{os.Args[0], "supervise"},
		Env: append(os.Environ(), "LAUNCHER_TEST_ROLE=detach")})
	if err != nil {
		t.Fatal(err)
	}
	tag := launcher.NewTag("batch", 1)
	if _, err := l.Start(context.Background(), tag, []string{"/bin/sh", "-c", "pwd > " + out}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if app, _ := l.Inspect(context.Background(), tag); app.Status == supervisor.Finished {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the application never ended")
		}
	}
	if got, _ := os.ReadFile(out); strings.TrimSpace(string(got)) != work {
		t.Errorf("the application ran in %q, want %q", strings.TrimSpace(string(got)), work)
	}
}
