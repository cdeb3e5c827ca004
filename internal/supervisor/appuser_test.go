package supervisor

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// The files an application needs of its directory (its conf's properties file, a driver's
// secret) are handed over by the values that name them; the protocol's own files never are.
func TestHandedOverFilesAndTheirNewNames(t *testing.T) {
	d := Dir(t.TempDir())
	for _, name := range []string{"spark-submit.properties", "driver.secret", "exit.json", "output.log"} {
		os.WriteFile(d.path(name), []byte("x"), 0o600)
	}
	os.Mkdir(d.path("uploads"), 0o700)
	cases := map[string]string{
		"--properties-file=" + d.path("spark-submit.properties"): "spark-submit.properties",
		"SPARKGATE_SECRET_FILE=" + d.path("driver.secret"):       "driver.secret",
		d.path("driver.secret"):                                  "driver.secret",
		"--x=" + d.path("exit.json"):                             "",
		d.path("output.log"):                                     "",
		d.path("uploads"):                                        "",
		d.path("missing"):                                        "",
		"/elsewhere/driver.secret":                               "",
		"--conf=a=b":                                             "",
	}
	for value, want := range cases {
		if got := handedOver(d, value); got != want {
			t.Errorf("handedOver(%q) = %q, want %q", value, got, want)
		}
	}
	renames := []string{"/data/apps/t", "/data/app-work/t", "/data/apps/t/a.properties", "/data/app-work/t/a.properties"}
	for value, want := range map[string]string{
		"/data/apps/t": "/data/app-work/t",
		"--properties-file=/data/apps/t/a.properties": "--properties-file=/data/app-work/t/a.properties",
		"/data/apps/t/a.properties":                   "/data/app-work/t/a.properties",
		"/data/apps/t/other":                          "/data/apps/t/other",
		"--name=/data/apps/t":                         "--name=/data/app-work/t",
		"x=/data/apps/t":                              "x=/data/apps/t",
	} {
		if got := rewrite(value, renames); got != want {
			t.Errorf("rewrite(%q) = %q, want %q", value, got, want)
		}
	}
}

// A working directory of that name made by another user is refused, not used.
func TestOwnDirRefusesADirectoryOfAnotherUser(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "work")
	if err := ownDir(dir); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("own dir: %v, %v; want a 0700 directory", fi, err)
	}
	if os.Geteuid() != 0 {
		t.Skip("making a directory of another user needs root")
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := ownDir(dir); err == nil {
		t.Error("a directory of another user was taken as the application's own")
	}
}

// The exec stage leaves no capability to what it execs: as root, every set starts full.
func TestDropCapabilitiesLeavesNone(t *testing.T) {
	done := make(chan error)
	go func() {
		// the thread is ended with this goroutine, since it stays locked
		runtime.LockOSThread()
		done <- dropCapabilities()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
