package integration

import (
	"os"
	"os/exec"
	"testing"
)

// The real Python livy client (PyPI livy, pinned in the Makefile) against sparkgate, on real
// Spark: version check, create, wait, state, log, list, get, paging, 404, delete.
func TestPythonLivyClient(t *testing.T) {
	home := sparkHome(t)
	python := os.Getenv("PYSPARK_PYTHON")
	if python == "" {
		t.Skip("PYSPARK_PYTHON (the venv's python, with livy installed) is not set; make test sets it")
	}
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home})
	out, err := exec.Command(python, "../python/pylivy_batch.py", s.url(""), examplesDir(t)+"/pi.py").CombinedOutput()
	if err != nil {
		t.Fatalf("pylivy: %v\n%s", err, out)
	}
}

// The real Python livy client drives an interactive session on real Spark: state across
// statements, a DataFrame uploaded and downloaded, an error raised as SparkRuntimeError.
func TestPythonLivyClientSession(t *testing.T) {
	home := sparkHome(t)
	python := os.Getenv("PYSPARK_PYTHON")
	if python == "" {
		t.Skip("PYSPARK_PYTHON (the venv's python, with livy installed) is not set; make test sets it")
	}
	t.Parallel()
	s := startServer(t, serverOpts{sparkHome: home})
	out, err := exec.Command(python, "../python/pylivy_session.py", s.url("")).CombinedOutput()
	if err != nil {
		t.Fatalf("pylivy: %v\n%s", err, out)
	}
}
