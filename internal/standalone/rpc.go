package standalone

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Without a REST server (Spark ships it disabled, and it authenticates nobody: CVE-2018-11770),
// spark-submit submits a cluster-mode driver over the Master's RPC port, which
// spark.authenticate protects, in a JVM that lives for the seconds of the submission: the
// supervisor runs standalone-submit --rpc, which runs spark-submit, finds the driver's id in
// what it prints and records it as a REST submission is recorded. A driver is killed by Spark's
// own client (org.apache.spark.deploy.Client kill), and known from the Masters' /json/ page.

// rpcMarkerFile marks, in the application's directory, a driver submitted over RPC.
const rpcMarkerFile = "submit-rpc"

// restDisabled makes spark-submit submit over RPC, whatever the user's conf or the defaults say.
const restDisabled = "--conf=spark.master.rest.enabled=false"

// startRPC has the supervisor run standalone-submit --rpc on argv.
func (b *Backend) startRPC(ctx context.Context, tag string, argv, extraEnv []string) (int, error) {
	d, err := b.Dir(tag)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(string(d), rpcMarkerFile), nil, 0o600); err != nil {
		return 0, err
	}
	options := []string{restDisabled}
	defaults, err := ReadDefaults(b.SparkConfDir())
	if err != nil {
		return 0, fmt.Errorf("read spark-defaults.conf: %w", err)
	}
	_, defaultsSet := confOf(argv, defaults, driverDefaultJavaOptions)
	if moduleOptionsNeeded(defaultsSet, b.version) {
		// Spark 3's RPC client gives the driver spark.driver.extraJavaOptions alone (its REST
		// server reads defaultJavaOptions too): the module options go first in it.
		extra, _ := confOf(argv, defaults, driverExtraJavaOptions)
		options = append(options, "--conf="+driverExtraJavaOptions+"="+strings.TrimSpace(javaModuleOptions+" "+extra))
	}
	submit := append(slices.Clone(b.cfg.SubmitCmd), "--rpc", "--record="+filepath.Join(string(d), recordFile),
		"--wait="+b.cfg.SubmitWait.String(), "--")
	return b.Launcher.Start(ctx, tag, append(submit, withOptions(argv, options...)...), extraEnv...)
}

// driverExtraJavaOptions is the driver's own JVM options (a restricted key: set by users only
// where the operator opened it).
const driverExtraJavaOptions = "spark.driver.extraJavaOptions"

// confOf is the value of key as spark-submit would take it: the last --conf of argv, else
// spark-defaults.conf; ok says whether either sets it.
func confOf(argv []string, defaults map[string]string, key string) (string, bool) {
	for i := len(argv) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(argv[i], "--conf="+key+"="); ok {
			return v, true
		}
	}
	v, ok := defaults[key]
	return v, ok
}

// withOptions adds options last among spark-submit's, where a setting overrides any other of
// its key (restDisabled: whatever the user's conf or the defaults say).
func withOptions(argv []string, options ...string) []string {
	i := 1
	for i < len(argv) && strings.HasPrefix(argv[i], "--") {
		i++
	}
	return slices.Concat(argv[:i], options, argv[i:])
}

// submittedOverRPC reports whether the application of directory d is a driver submitted over RPC.
func submittedOverRPC(d string) bool {
	_, err := os.Stat(filepath.Join(d, rpcMarkerFile))
	return err == nil
}

// killRPC asks the Masters, through Spark's own client, to kill driver id: a JVM for seconds,
// run aside under a supervisor so that the caller (a DELETE) does not wait for it.
func (b *Backend) killRPC(ctx context.Context, tag, id string) error {
	class := "spark-class"
	if b.SparkHome() != "" {
		class = filepath.Join(b.SparkHome(), "bin", "spark-class")
	}
	name := fmt.Sprintf("kill-%d", time.Now().UnixNano())
	return b.StartAside(ctx, tag, name, []string{class, "org.apache.spark.deploy.Client", "kill", b.Master(), id})
}

// submittedAs is how spark-submit's client (ClientEndpoint) says that a Master took the driver.
var submittedAs = regexp.MustCompile(`Driver successfully submitted as (driver-[0-9]+-[0-9]+)`)

// unreachableMaster is how it says that it could not connect to a Master: nothing was sent.
const unreachableMaster = "Failed to connect to"

// submitRPC is standalone-submit --rpc: it runs spark-submit (argv), its output passed on to
// the application's log, until a Master took the driver or refused it, trying again while no
// Master can be reached, and records the driver's id or why there is none.
func submitRPC(argv []string, record string, wait time.Duration, stdout, stderr io.Writer) int {
	return submitUntilReached(record, wait, stdout, stderr, func(ctx context.Context) (string, error) {
		return runSubmit(ctx, argv, stdout)
	})
}

// runSubmit runs spark-submit once and returns the driver id it printed. Its error wraps
// ErrUnreachable when it connected to no Master (and printed no id).
func runSubmit(ctx context.Context, argv []string, log io.Writer) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start spark-submit: %w", err)
	}
	var id, lastError string
	unreachable := false
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(log, line)
		if m := submittedAs.FindStringSubmatch(line); m != nil && id == "" {
			id = m[1]
		}
		if strings.Contains(line, unreachableMaster) {
			unreachable = true
		}
		if strings.Contains(line, "Exception") || strings.Contains(line, "ERROR") {
			lastError = strings.TrimSpace(line)
		}
	}
	waitErr := cmd.Wait()
	switch {
	case id != "":
		return id, nil // taken, whatever became of the client's polling afterwards
	case unreachable:
		return "", fmt.Errorf("%w: %s", ErrUnreachable, lastError)
	case waitErr != nil:
		return "", &notSubmitted{fmt.Sprintf("spark-submit did not submit the driver (%v): %s", waitErr, lastError)}
	default:
		return "", &notSubmitted{"spark-submit ended without saying that a Master took the driver"}
	}
}

// notSubmitted is a submission over RPC that ended with no driver, and why.
type notSubmitted struct{ why string }

func (e *notSubmitted) Error() string { return e.why }
