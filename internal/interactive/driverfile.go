package interactive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// driverProgramPath is where the driver program of this version is kept under dataDir.
func driverProgramPath(dataDir string) string {
	sum := sha256.Sum256(driverProgram)
	return filepath.Join(dataDir, "driver", "sparkgate_driver-"+hex.EncodeToString(sum[:6])+".py")
}

// ensureDriverProgram makes the file at path hold this version's driver program, read-only in
// a directory only the gateway's user writes, and readable by everyone (an application's OS
// user reads it; it holds nothing secret). It runs before every launch, not only at start:
// user code that runs as the gateway's user could have rewritten the file since, and whatever
// the file holds is what the next session's driver runs.
func ensureDriverProgram(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make the driver program's directory: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("driver program's directory: %w", err)
	}
	if got, err := os.ReadFile(path); err == nil && bytes.Equal(got, driverProgram) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == 0o444 {
			return nil
		}
	}
	tmp, err := os.CreateTemp(dir, ".driver-*")
	if err != nil {
		return fmt.Errorf("write the driver program: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(driverProgram); err != nil {
		tmp.Close()
		return fmt.Errorf("write the driver program: %w", err)
	}
	if err := tmp.Chmod(0o444); err != nil {
		tmp.Close()
		return fmt.Errorf("write the driver program: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the driver program: %w", err)
	}
	// a rename replaces whatever is at path, a file of anyone's or a link, in one step
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write the driver program: %w", err)
	}
	return nil
}
