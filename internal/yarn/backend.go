// Package yarn runs Spark applications on Hadoop YARN and follows them through the
// ResourceManager's REST API: spark-submit runs on this host under the local launcher's
// supervisor (in cluster mode only until YARN accepted the application; in client mode it is
// the driver), and the RM tells each application's id, links, state and final status — by
// its tag, so that any instance finds it again.
package yarn

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// forgottenGrace is how long an application that spark-submit submitted may be unknown to the
// RM before it counts as lost (the RM restarted without its state, or forgot it long ago).
const forgottenGrace = 30 * time.Second

// Backend is the YARN cluster backend (launcher.Backend).
type Backend struct {
	*launcher.Launcher
	rm   *ResourceManager
	cfg  Config
	apps *follower
	log  *slog.Logger
}

var _ launcher.Backend = (*Backend)(nil)

// Config is how the backend reaches YARN.
type Config struct {
	// PollInterval bounds how old an answer of the RM may be (1 s when 0).
	PollInterval time.Duration
	// Requests, when set, counts the RM requests by outcome ("ok", "error").
	Requests func(outcome string)
	// LaunchTimeout is the managers' (launcher.Limits): in cluster mode, an application
	// launched by another host's spark-submit may take twice that (at least 2 minutes) to
	// reach the RM before it is launched again.
	LaunchTimeout time.Duration
}

// New returns the backend that submits through l and asks rm.
func New(l *launcher.Launcher, rm *ResourceManager, cfg Config, log *slog.Logger) *Backend {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Requests == nil {
		cfg.Requests = func(string) {}
	}
	return &Backend{Launcher: l, rm: rm, cfg: cfg, apps: newFollower(rm, l.ClusterTag(), cfg.PollInterval, cfg.Requests, log), log: log}
}

// Capabilities of YARN's applications: followed at the RM's pace. In cluster mode the RM alone
// tells whether an application lives, since it finds every one by its tag, so instances with
// different data directories may adopt each other's sessions, after the resubmit grace; and
// session drivers run in the cluster, out of reach of the gateway's disk.
func (b *Backend) Capabilities() (launcher.Capabilities, error) {
	c, err := b.Launcher.Capabilities()
	if err != nil {
		return c, err
	}
	c.FollowInterval = b.cfg.PollInterval
	if b.DeployMode() == "cluster" {
		c.RemoteDrivers = true
		c.Scope = "yarn-cluster " + b.rm.base + " " + b.ClusterTag()
		c.ResubmitGrace = max(2*b.cfg.LaunchTimeout, 2*time.Minute)
	}
	return c, nil
}

// Inspect tells what became of the application of tag, from what spark-submit did on this
// host and what the RM says (see merge).
func (b *Backend) Inspect(ctx context.Context, tag string) (launcher.App, error) {
	a, known, rmErr := b.apps.app(ctx, tag)
	if rmErr == nil && known && active(a.State) {
		// what spark-submit does here changes nothing while YARN runs it: no disk read
		return merge(supervisor.Running, nil, &a), nil
	}
	st, exit, err := b.Process(tag)
	if err != nil {
		return launcher.App{}, err
	}
	if rmErr != nil {
		return launcher.App{Status: st}, rmErr
	}
	if !known {
		return unknownToRM(st, exit), nil
	}
	app := merge(st, exit, &a)
	if app.Status == supervisor.Finished {
		b.keepDriverLog(ctx, tag, &a)
	}
	return app, nil
}

// unknownToRM is an application that YARN does not know (yet, or any more).
func unknownToRM(st supervisor.Status, exit *supervisor.Exit) launcher.App {
	switch {
	case st == supervisor.Running:
		return launcher.App{Status: st, Submitting: true} // spark-submit is submitting it
	case st != supervisor.Finished:
		return launcher.App{Status: st} // never started
	case !exit.Success():
		return launcher.App{Status: st, End: launcher.EndOf(exit)} // the submission failed
	case time.Since(exit.FinishedAt) < forgottenGrace:
		return launcher.App{Status: supervisor.Running, Submitting: true}
	default:
		return launcher.App{Status: st, End: &launcher.End{Outcome: launcher.Failed, ExitCode: 1,
			Reason: "spark-submit submitted the application, but the ResourceManager does not know it (any more)"}}
	}
}

// merge is an application YARN knows. While YARN runs it, it runs. Once YARN is done, a
// spark-submit still running here (a client-mode driver stopping) is waited for; then the
// outcome is YARN's KILLED, or failed when YARN or spark-submit says so (a client-mode
// driver's exit status is the truth YARN does not see), or succeeded.
func merge(st supervisor.Status, exit *supervisor.Exit, a *Application) launcher.App {
	app := launcher.App{Status: supervisor.Running, ID: a.ID, DriverLogURL: a.AMContainerLogs,
		Submitting: active(a.State) && a.State != "RUNNING"} // NEW … ACCEPTED: YARN does not run it yet
	if a.State == "RUNNING" {
		app.SparkUIURL = a.TrackingURL // before, it points at the RM's page of the attempt
	}
	final := a.State == "FINISHED" || a.State == "FAILED" || a.State == "KILLED"
	if !final || st == supervisor.Running {
		return app
	}
	app.Status = supervisor.Finished
	diagnostics := strings.TrimSpace(a.Diagnostics)
	switch {
	case a.State == "KILLED" || a.FinalStatus == "KILLED":
		app.End = &launcher.End{Outcome: launcher.Killed, ExitCode: 1, Reason: reason("YARN killed the application", a.ID, diagnostics)}
	case a.State == "FAILED" || a.FinalStatus != "SUCCEEDED":
		app.End = &launcher.End{Outcome: launcher.Failed, ExitCode: 1, Reason: reason("YARN reports the application "+a.FinalStatus, a.ID, diagnostics)}
		if exit != nil && !exit.Success() {
			app.End.ExitCode = exit.Code
		}
	case exit != nil && !exit.Success():
		app.End = launcher.EndOf(exit)
	default:
		app.End = &launcher.End{Outcome: launcher.Succeeded}
	}
	return app
}

func reason(what, id, diagnostics string) string {
	if diagnostics == "" {
		return fmt.Sprintf("%s (%s)", what, id)
	}
	return fmt.Sprintf("%s (%s): %s", what, id, diagnostics)
}

// Kill kills the application: spark-submit if it still runs here (SIGTERM, SIGKILL by force),
// and what YARN runs of it through the RM, by force too (a spark-submit killed while it
// submitted may have handed the application over first).
func (b *Backend) Kill(ctx context.Context, tag string, force bool) (bool, error) {
	sent, err := b.Launcher.Kill(ctx, tag, force)
	if err != nil {
		return sent, err
	}
	a, known, err := b.apps.app(ctx, tag)
	if err != nil {
		return sent, err
	}
	if !known || !active(a.State) {
		return sent, nil
	}
	if err := b.rm.Kill(ctx, a.ID); err != nil {
		return sent, err
	}
	b.log.Info("asked YARN to kill the application", "tag", tag, "app", a.ID)
	return true, nil
}

// Tagged lists the tags of the active applications of this deployment (leakcheck.Cluster).
func (b *Backend) Tagged(ctx context.Context) ([]string, error) {
	apps, err := b.rm.Apps(ctx, url.Values{"applicationTags": {b.ClusterTag()}, "states": {activeStates}})
	if err != nil {
		return nil, err
	}
	var tags []string
	for _, a := range apps {
		for _, tag := range a.Tags() {
			if tag = strings.TrimSpace(tag); strings.HasPrefix(tag, launcher.TagPrefix) && tag != b.ClusterTag() {
				tags = append(tags, tag)
			}
		}
	}
	return tags, nil
}
