package interactive

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/idempotency"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

// The driver program on disk is checked against its hash before every launch: user code that
// rewrote it (or removed it) after the server started does not run as the next session's
// driver; the file is read-only, in a directory only the gateway's user writes.
func TestADriverProgramChangedOnDiskIsRestoredBeforeTheNextLaunch(t *testing.T) {
	for name, tamper := range map[string]func(t *testing.T, path string){
		"rewritten": func(t *testing.T, path string) {
			os.Chmod(path, 0o644)
			if err := os.WriteFile(path, []byte("import os; os.system('steal')\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"removed": func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dataDir := t.TempDir()
			fl := launchertest.New(t.TempDir())
			m := New(Config{DataDir: dataDir, DriverURL: "http://gw", InstanceID: "me", Limits: launcher.Limits{PollInterval: 5 * time.Millisecond}},
				storetest.Embedded(t), fl, logfile.New(), slog.New(slog.NewTextHandler(t.Output(), nil)))
			if err := m.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer m.Stop()
			files, _ := filepath.Glob(filepath.Join(dataDir, "driver", "sparkgate_driver-*.py"))
			if len(files) != 1 {
				t.Fatalf("driver programs written at start: %v, want one", files)
			}
			tamper(t, files[0])
			c, err := m.Create(ctx, &livy.CreateInteractiveRequest{}, idempotency.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(5 * time.Second); len(fl.Starts(c.Session.Tag)) == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the driver was never started")
				}
			}
			got, err := os.ReadFile(files[0])
			if err != nil || !bytes.Equal(got, driverProgram) {
				t.Fatalf("the driver program launched is not sparkgate's (%d bytes, %v)", len(got), err)
			}
			if fi, err := os.Stat(files[0]); err != nil || fi.Mode().Perm()&0o222 != 0 {
				t.Errorf("the driver program's mode: %v, %v; want read-only", fi, err)
			}
			if fi, err := os.Stat(filepath.Dir(files[0])); err != nil || fi.Mode().Perm()&0o022 != 0 {
				t.Errorf("the driver program's directory: %v, %v; want writable by its owner only", fi, err)
			}
		})
	}
}
