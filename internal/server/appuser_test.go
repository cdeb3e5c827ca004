package server

import (
	"os"
	"path/filepath"
	"testing"
)

// With --app-user the data directory may be passed through but not listed, and nothing in it
// but the driver program and the applications' own directories is open to others.
func TestConfineDataDirLeavesOthersOnlyTheDriverAndTheirWorkDirs(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(filepath.Join(dataDir, "apps"), 0o755)
	os.MkdirAll(filepath.Join(dataDir, "driver"), 0o755)
	os.MkdirAll(filepath.Join(dataDir, "app-work"), 0o700)
	os.Chmod(filepath.Join(dataDir, "app-work"), 0o733)
	os.WriteFile(filepath.Join(dataDir, "sparkgate.db"), nil, 0o644)
	os.Chmod(dataDir, 0o755)
	if err := confineDataDir(dataDir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"": 0o711, "apps": 0o750, "sparkgate.db": 0o640, "driver": 0o755, "app-work": 0o733} {
		fi, err := os.Stat(filepath.Join(dataDir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%q: %v, %v; want mode %v", name, fi, err, want)
		}
	}
}
