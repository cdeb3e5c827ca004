package interactive

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
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

// The Python driver speaks the protocol defined in protocol.go: its environment, header,
// routes, poll parameters, message types and call ops, and it waits longer for a poll's
// answer than the gateway holds a poll.
func TestDriverSpeaksTheProtocol(t *testing.T) {
	src := string(driverProgram)
	quoted := func(s string) string { return `"` + s + `"` }
	for _, want := range []string{EnvURL, EnvSessionID, EnvSecretFile, EnvSecret, EnvKind, EnvWorkDir, EnvGatewayTimeout, EnvCAFile, SecretHeader,
		MessageStatement, MessageCancel, MessageCall, OpComplete, OpAddJar, OpAddPyFile, OpAddFile} {
		if !strings.Contains(src, quoted(want)) {
			t.Errorf("the driver never names %s", quoted(want))
		}
	}
	placeholder := regexp.MustCompile(`\\\{[a-z]+\\\}`) // a {name} once quoted
	for _, route := range []string{RouteReady, RouteNext, RouteResult, RouteAnswer} {
		_, path, _ := strings.Cut(route, " ")
		re := regexp.MustCompile(`"` + placeholder.ReplaceAllString(regexp.QuoteMeta(path), `%[sd]`) + `"`)
		if !re.MatchString(src) {
			t.Errorf("the driver never calls %s (looked for %s)", route, re)
		}
	}
	for _, want := range []string{"?" + QueryRunning + "=", "&" + QueryCancelSeen + "=1"} {
		if !strings.Contains(src, want) {
			t.Errorf("the driver's poll never sends %s", want)
		}
	}
	m := regexp.MustCompile(`(?m)^POLL_SECONDS = (\d+)$`).FindStringSubmatch(src)
	if m == nil {
		t.Fatal("the driver defines no POLL_SECONDS")
	}
	poll, _ := strconv.Atoi(m[1])
	if wait := New(Config{}, nil, launchertest.New(t.TempDir()), nil, nil).cfg.PollWait; time.Duration(poll)*time.Second <= wait {
		t.Errorf("the driver waits %ds for a poll, no longer than the gateway holds one (%s)", poll, wait)
	}
}
