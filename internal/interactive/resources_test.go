package interactive

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

// A driver in the cluster may download its own session's uploads and what the whitelist lets
// users add; nothing else of the gateway's disk, whatever path it asks for.
func TestADriverMayDownloadOnlyItsUploadsAndWhitelistedFiles(t *testing.T) {
	apps, jobs := t.TempDir(), t.TempDir()
	l, err := launcher.New(launcher.Config{AppsDir: apps, SupervisorCmd: []string{"x"}, LocalDirWhitelist: []string{jobs}})
	if err != nil {
		t.Fatal(err)
	}
	m := New(Config{DataDir: t.TempDir(), RemoteDrivers: true}, storetest.Embedded(t), l, logfile.New(), slog.New(slog.DiscardHandler))
	mine, other := &store.Session{Tag: "sparkgate-session-1-a"}, &store.Session{Tag: "sparkgate-session-2-b"}
	upload := filepath.Join(m.uploadDir(mine.Tag), "r1", "data.csv")
	os.MkdirAll(filepath.Dir(upload), 0o750)
	os.WriteFile(upload, []byte("x"), 0o600)
	job := filepath.Join(jobs, "lib.py")
	os.WriteFile(job, []byte("x"), 0o600)
	cases := []struct {
		name, path string
		sess       *store.Session
		ok         bool
	}{
		{"its upload", upload, mine, true},
		{"a whitelisted file", job, mine, true},
		{"a whitelisted file URI", "file:" + job, mine, true},
		{"another session's upload", upload, other, false},
		{"a directory of its uploads", filepath.Dir(upload), mine, false},
		{"out of the uploads by ..", m.uploadDir(mine.Tag) + "/../../other/output.log", mine, false},
		{"the gateway's own files", "/etc/passwd", mine, false},
		{"out of the whitelist by ..", jobs + "/../x", mine, false},
		{"relative", "lib.py", mine, false},
		{"remote", "hdfs:///lib.py", mine, false},
	}
	for _, c := range cases {
		f, _, err := m.OpenDriverFile(c.sess, c.path)
		if (err == nil) != c.ok {
			t.Errorf("%s (%s): %v; want allowed %v", c.name, c.path, err, c.ok)
		}
		if err == nil {
			f.Close()
		}
	}
	if err := m.Upload(context.Background(), 1, OpAddFile, strings.Repeat("a", 256)+".txt", strings.NewReader("x")); errkind.Of(err) != errkind.Invalid {
		t.Errorf("an upload named with 260 bytes: %v, want a client error", err)
	}
	if !onGatewayDisk("/a") || !onGatewayDisk("file:/a") || onGatewayDisk("local:/a") || onGatewayDisk("hdfs:///a") {
		t.Error("onGatewayDisk")
	}
}
