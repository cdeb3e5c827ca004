package interactive

import (
	"os"
	"os/exec"
	"testing"
)

// The driver's own unit tests (output shaping, magics, errors, gateway retries), in Python.
func TestDriverUnitTests(t *testing.T) {
	python := os.Getenv("PYSPARK_PYTHON")
	if python == "" {
		python = "python3"
	}
	if _, err := exec.LookPath(python); err != nil {
		t.Skipf("no %s: %v", python, err)
	}
	cmd := exec.Command(python, "-m", "unittest", "-v", "test_sparkgate_driver")
	cmd.Dir = "driver"
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("driver unit tests failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
