package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/config"
)

func testConfig(t *testing.T, addr string) *config.Config {
	t.Helper()
	cfg, err := config.Load([]string{"--addr", addr, "--data-dir", filepath.Join(t.TempDir(), "data"), "--spark-home", t.TempDir()},
		func(string) string { return "" }, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func quietLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// A start on a taken port fails before it creates anything: no store, no directories.
func TestTakenPortFailsCleanBeforeTouchingTheDisk(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(t, taken.Addr().String())
	if _, err := New(cfg, quietLog(t)); err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Fatalf("New on a taken port = %v, want a listen error", err)
	}
	if _, err := os.Stat(cfg.DataDir); !os.IsNotExist(err) {
		t.Errorf("the data directory exists after a failed start (%v)", err)
	}
}

// A server with nothing in flight stops at once, and a second one can take its port.
func TestRunStopsWhenItsContextEnds(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:0")
	srv, err := New(cfg, quietLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	waitUntil(t, func() bool {
		resp, err := http.Get("http://" + srv.Addr() + "/version")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(ShutdownTimeout):
		t.Fatal("Run did not return after its context ended")
	}
	again, err := New(testConfig(t, srv.Addr()), quietLog(t))
	if err != nil {
		t.Fatalf("the port stayed taken: %v", err)
	}
	again.Close()
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
	}
}

// --store-password-file puts the password into the DSN in memory, from a file: never on the
// command line or in the environment.
func TestStoreDSNTakesThePasswordFromItsFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(file, []byte("s3cr@t/x\n"), 0o600)
	got, err := storeDSN("postgres://gateway@db:5432/sparkgate?sslmode=require", file)
	if err != nil || got != "postgres://gateway:s3cr%40t%2Fx@db:5432/sparkgate?sslmode=require" {
		t.Errorf("= %q, %v", got, err)
	}
	if got, _ := storeDSN("", file); got != "" {
		t.Errorf("the embedded store got a DSN: %q", got)
	}
}
