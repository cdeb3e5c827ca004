// Package standalone runs Spark applications on a Spark standalone cluster. In client mode
// (interactive sessions always, Python batches always: Spark runs no Python driver in
// standalone cluster mode) spark-submit is the driver, here, under the local launcher's
// supervisor. In cluster mode the driver runs on a Worker: the supervisor runs this binary's
// standalone-submit, which sends spark-submit's request to the Master's REST submission server
// (no JVM here at all; signed for a JWSFilter) or, when no REST server is configured, runs
// spark-submit over the Master's RPC port (rpc.go), and records the driver's id in the
// application's directory; the Master's /json/ page then tells every driver's state at once.
package standalone

import (
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sparkgate/sparkgate/internal/clusterview"
	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// forgottenGrace is how long a driver the Master accepted may be unknown to it before it
// counts as lost (a Master restarted without recovery, or one that forgot it long ago).
const forgottenGrace = 30 * time.Second

// Files of a cluster-mode application's directory.
const (
	requestFile = "request.json"    // what is sent to the Master
	recordFile  = "submission.json" // what it answered (Record)
)

// Config is how the backend submits and follows.
type Config struct {
	// SubmitCmd runs this binary's "standalone-submit".
	SubmitCmd []string
	// SubmitWait is how long a submission keeps trying while no Master can be reached.
	SubmitWait time.Duration
	// PollInterval bounds how old an answer of the Master may be (1 s when 0).
	PollInterval time.Duration
	// Requests, when set, counts the Master requests by outcome ("ok", "error").
	Requests func(outcome string)
	// RESTSecretFile, with REST servers, holds the key their requests are signed with.
	RESTSecretFile string
}

// Backend is the Spark standalone cluster backend (launcher.Backend).
type Backend struct {
	*launcher.Launcher
	master  *Master
	cfg     Config
	version string
	drivers *clusterview.View[Driver]
	log     *slog.Logger

	mu      sync.Mutex
	alive   string            // the web address of the ALIVE Master at the last refresh
	records map[string]Record // the submissions' records read so far, by tag (written once)
}

var _ launcher.Backend = (*Backend)(nil)

// New returns the backend that submits through l's supervisor and asks master.
func New(l *launcher.Launcher, master *Master, cfg Config, log *slog.Logger) *Backend {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.SubmitWait <= 0 {
		cfg.SubmitWait = 15 * time.Minute
	}
	if cfg.Requests == nil {
		cfg.Requests = func(string) {}
	}
	b := &Backend{Launcher: l, master: master, cfg: cfg, version: SparkVersion(l.SparkHome()), log: log, records: map[string]Record{}}
	b.drivers = clusterview.New(b.refresh, cfg.PollInterval, master.String(), log)
	return b
}

// Capabilities of standalone cluster-mode drivers: followed at the Master's pace, found again
// by the driver id that their submission recorded in the applications' directory (whose scope
// they keep); the Master's REST server takes them, so spark-submit does not run here.
func (b *Backend) Capabilities() (launcher.Capabilities, error) {
	c, err := b.Launcher.Capabilities()
	c.FollowInterval, c.SubmitsLocally = b.cfg.PollInterval, false
	return c, err
}

// Command is the launcher's command, checked against what the REST submission can carry; a
// jar without className gets the Main-Class of its manifest, as spark-submit does.
func (b *Backend) Command(spec *launcher.Spec, tag string) ([]string, error) {
	if spec.ClassName == "" && strings.HasSuffix(spec.File, ".jar") {
		if path, err := b.Resolve("file", spec.File); err == nil {
			withClass := *spec
			withClass.ClassName = mainClassOf(strings.TrimPrefix(path, "file:"))
			spec = &withClass
		}
	}
	argv, err := b.Launcher.Command(spec, tag)
	if err != nil || !launcher.ClusterMode(argv) {
		return argv, err
	}
	if _, err := RequestOf(argv, nil, b.version); err != nil {
		return nil, errkind.Invalidf("%v", err)
	}
	return argv, nil
}

// mainClassOf is the Main-Class of a local jar's manifest, "" when it has none.
func mainClassOf(path string) string {
	r, err := zip.OpenReader(path)
	if err != nil {
		return ""
	}
	defer r.Close()
	f, err := r.Open("META-INF/MANIFEST.MF")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Main-Class:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Start launches argv for tag. In cluster mode it writes the REST request into the
// application's directory (0600: conf values may be secrets) and has the supervisor run
// standalone-submit on it, so that the submission happens at most once per tag, as
// spark-submit's would, whatever becomes of this gateway meanwhile.
func (b *Backend) Start(ctx context.Context, tag string, argv []string, extraEnv ...string) (int, error) {
	if !launcher.ClusterMode(argv) {
		return b.Launcher.Start(ctx, tag, argv, extraEnv...)
	}
	if !b.master.HasREST() {
		return b.startRPC(ctx, tag, argv, extraEnv)
	}
	d, err := b.Dir(tag)
	if err != nil {
		return 0, err
	}
	defaults, err := ReadDefaults(b.SparkConfDir())
	if err != nil {
		return 0, fmt.Errorf("read spark-defaults.conf: %w", err)
	}
	req, err := RequestOf(argv, defaults, b.version)
	if err != nil {
		return 0, err
	}
	body, err := jsonOf(req)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		return 0, err
	}
	if err := supervisor.WriteFileAtomic(filepath.Join(string(d), requestFile), body); err != nil {
		return 0, fmt.Errorf("write the submission: %w", err)
	}
	submit := append(slices.Clone(b.cfg.SubmitCmd),
		"--request="+filepath.Join(string(d), requestFile), "--record="+filepath.Join(string(d), recordFile),
		"--rest="+strings.Join(b.master.rest, ","), "--wait="+b.cfg.SubmitWait.String())
	if b.cfg.RESTSecretFile != "" {
		submit = append(submit, "--rest-secret-file="+b.cfg.RESTSecretFile)
	}
	return b.Launcher.Start(ctx, tag, submit, extraEnv...)
}

// Inspect tells what became of the application of tag: in client mode what its local driver
// did; in cluster mode what the submission recorded and what the Master says of the driver.
func (b *Backend) Inspect(ctx context.Context, tag string) (launcher.App, error) {
	d, err := b.Dir(tag)
	if err != nil {
		return launcher.App{}, err
	}
	rec, recorded, err := b.record(d, tag)
	if err != nil {
		return launcher.App{}, err
	}
	if !recorded {
		if _, err := os.Stat(filepath.Join(string(d), requestFile)); err != nil && !submittedOverRPC(string(d)) {
			return b.Launcher.Inspect(ctx, tag) // client mode, or never started
		}
		st, exit, err := b.Process(tag)
		if err != nil || st != supervisor.Finished {
			return launcher.App{Status: st, Submitting: st == supervisor.Running}, err // being submitted
		}
		return launcher.App{Status: st, End: &launcher.End{Outcome: launcher.Failed, ExitCode: 1,
			Reason: "the submission to the Spark Master ended without an answer: " + exit.Describe()}}, nil
	}
	if rec.Refused != "" {
		b.forget(tag)
		return launcher.App{Status: supervisor.Finished, End: &launcher.End{Outcome: launcher.Failed, ExitCode: 1,
			Reason: "the Spark Master did not take the driver: " + rec.Refused}}, nil
	}
	drv, known, err := b.drivers.Get(ctx, rec.DriverID)
	app := launcher.App{Status: supervisor.Running, ID: rec.DriverID}
	switch {
	case err != nil:
		return app, err
	case !known && time.Since(rec.SubmittedAt) < forgottenGrace:
		app.Submitting = true
		return app, nil
	case !known:
		b.forget(tag)
		app.Status, app.End = supervisor.Finished, &launcher.End{Outcome: launcher.Failed, ExitCode: 1,
			Reason: fmt.Sprintf("the Spark Master accepted driver %s, but does not know it (any more)", rec.DriverID)}
		return app, nil
	}
	if drv.WorkerUI != "" {
		app.DriverLogURL = fmt.Sprintf("%s/logPage/?driverId=%s&logType=stderr", drv.WorkerUI, drv.ID)
	}
	if !drv.ended() {
		app.Submitting = drv.State == "SUBMITTED" // waiting for a Worker with room for it
		if drv.State == "RUNNING" {
			app.SparkUIURL = b.aliveMaster() // its page of the driver's application links that application's UI
		}
		return app, nil
	}
	app.Status, app.End = supervisor.Finished, endOf(&drv)
	b.forget(tag)
	if drv.WorkerUI != "" {
		b.KeepDriverLog(tag, "the Worker "+drv.WorkerUI, func(name string) (string, error) {
			return b.master.driverLog(ctx, drv.WorkerUI, drv.ID, name, launcher.MaxDriverLogBytes)
		})
	}
	return app, nil
}

// record reads the submission's record of tag, from memory once it was read: a record is
// written once, so that following a running driver costs no disk access.
func (b *Backend) record(d supervisor.Dir, tag string) (Record, bool, error) {
	b.mu.Lock()
	rec, ok := b.records[tag]
	b.mu.Unlock()
	if ok {
		return rec, true, nil
	}
	rec, ok, err := readRecord(filepath.Join(string(d), recordFile))
	if ok {
		b.mu.Lock()
		b.records[tag] = rec
		b.mu.Unlock()
	}
	return rec, ok, err
}

// endOf is how an ended driver ended, in the Master's words.
func endOf(d *Driver) *launcher.End {
	switch d.State {
	case "FINISHED":
		return &launcher.End{Outcome: launcher.Succeeded}
	case "KILLED":
		return &launcher.End{Outcome: launcher.Killed, ExitCode: 1, Reason: fmt.Sprintf("the Spark Master killed driver %s", d.ID)}
	case "ERROR":
		return &launcher.End{Outcome: launcher.Failed, ExitCode: 1, Reason: fmt.Sprintf("the Worker could not run driver %s (ERROR)", d.ID)}
	default:
		return &launcher.End{Outcome: launcher.Failed, ExitCode: 1, Reason: fmt.Sprintf("driver %s exited with a failure (%s)", d.ID, d.State)}
	}
}

func (b *Backend) aliveMaster() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.alive
}

// refresh is one look at the Master: its /json/ page for every driver it knows, plus the REST
// server's status of each followed driver that page lacks (it keeps only the last ended ones).
func (b *Backend) refresh(ctx context.Context, want []string) (map[string]Driver, map[string]bool, error) {
	drivers, alive, err := b.master.Drivers(ctx)
	if err != nil {
		b.cfg.Requests("error")
		return nil, nil, err
	}
	b.cfg.Requests("ok")
	b.mu.Lock()
	b.alive = alive
	b.mu.Unlock()
	looked := map[string]bool{}
	for id := range drivers {
		looked[id] = true
	}
	for _, id := range want {
		if looked[id] {
			continue
		}
		if !b.master.HasREST() {
			looked[id] = true // over RPC the /json/ page is all there is: absent from it
			continue
		}
		drv, ok, err := b.master.Status(ctx, id)
		if err != nil {
			b.cfg.Requests("error")
			return nil, nil, err
		}
		b.cfg.Requests("ok")
		looked[id] = true
		if ok {
			drivers[id] = drv
		}
	}
	return drivers, looked, nil
}

// Kill ends the application: what runs here (a client-mode driver, a submission still
// trying: SIGTERM, SIGKILL by force) and, through the Master, a cluster-mode driver.
func (b *Backend) Kill(ctx context.Context, tag string, force bool) (bool, error) {
	sent, err := b.Launcher.Kill(ctx, tag, force)
	if err != nil {
		return sent, err
	}
	d, err := b.Dir(tag)
	if err != nil {
		return sent, err
	}
	rec, recorded, err := b.record(d, tag)
	if err != nil || !recorded || rec.DriverID == "" {
		return sent, err
	}
	drv, known, err := b.drivers.Get(ctx, rec.DriverID)
	if err != nil || !known || drv.ended() {
		return sent, err
	}
	kill := b.master.Kill
	if !b.master.HasREST() {
		kill = func(ctx context.Context, id string) error { return b.killRPC(ctx, tag, id) }
	}
	if err := kill(ctx, rec.DriverID); err != nil {
		return sent, err
	}
	b.log.Info("asked the Spark Master to kill the driver", "tag", tag, "driver", rec.DriverID, "rest", b.master.HasREST())
	return true, nil
}

// forget drops the record of an ended application from memory (its directory keeps it).
func (b *Backend) forget(tag string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.records, tag)
}
