package launcher

import (
	"context"
	"time"

	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// Backend is where the session managers' applications run and how they are found again: the
// seam every cluster backend implements (local processes through Launcher, YARN through
// package yarn). Applications are known by their tag alone, so that a restarted or adopting
// instance finds them again without any state of the one that launched them. Package
// backendtest is the suite every implementation passes.
type Backend interface {
	// Command builds the spark-submit command of spec under the submission policy; its errors
	// are the client's (400).
	Command(spec *Spec, tag string) ([]string, error)
	// Start launches argv as the application of tag unless it was already started, and
	// returns the pid of what it started.
	Start(ctx context.Context, tag string, argv []string, extraEnv ...string) (int, error)
	// Inspect tells whether the application of tag never started, runs, or ended (and how),
	// with what the backend knows of it. An answer may be as old as the backend's poll
	// interval, but never older.
	Inspect(ctx context.Context, tag string) (App, error)
	// Kill ends the application of tag: gently, asking it to end (SIGTERM here, the cluster
	// manager's kill), or by force, ending at once what runs here (SIGKILL) and asking the
	// cluster manager again. It reports false when nothing runs any more. The runner escalates
	// from the one to the other after the kill grace.
	Kill(ctx context.Context, tag string, force bool) (bool, error)
	// LogPath is where the application's log is kept.
	LogPath(tag string) string
	// Note appends a line of the gateway's to the application's log.
	Note(tag, line string) error
	// Resolve checks a user's file reference (a jar, a pyfile) against the policy.
	Resolve(field, ref string) (string, error)
	// Remove forgets what the application left (its directory), once its session is purged.
	Remove(tag string) error
	// Capabilities says what the backend's applications need of the gateway.
	Capabilities() (Capabilities, error)
}

// Prober is a backend that can say, at the gateway's start, what is wrong with the cluster
// manager it was given (unreachable, refusing its credentials): the server logs each problem.
type Prober interface {
	Probe(ctx context.Context) []string
}

// Capabilities are what a backend's applications need of the gateway, which only the backend
// knows: the composition root asks, and never decides them from the master's name.
type Capabilities struct {
	// RemoteDrivers says that interactive drivers run in the cluster, out of reach of the
	// gateway's disk: they get their secret in their environment, and download the local
	// files added to them.
	RemoteDrivers bool
	// Scope names where the backend finds applications again: instances whose backends tell
	// the same scope may adopt each other's sessions. The applications' directory for what
	// runs on this host; the cluster manager where it alone finds every application by its
	// tag, whatever the instance's data directory.
	Scope string
	// ResubmitGrace is how long a launched application that this instance cannot see (nor the
	// cluster manager knows) may still be on its way there before it is launched again
	// (Limits.ResubmitGrace).
	ResubmitGrace time.Duration
	// FollowInterval is how often a running application is worth asking about (0: as often
	// as the managers poll): a cluster manager's poll interval.
	FollowInterval time.Duration
	// SubmitsLocally says that spark-submit runs on this host, which readiness then checks.
	SubmitsLocally bool
}

var _ Backend = (*Launcher)(nil)

// App is what a backend knows of one application at one moment.
type App struct {
	Status supervisor.Status
	// End says how it ended, once Status is Finished.
	End *End
	// Submitting says, of a Running application, that the cluster manager does not run it yet:
	// it is being handed over (the cluster manager may be unreachable meanwhile), or waits
	// for resources (YARN's ACCEPTED, a standalone driver SUBMITTED). Its session stays
	// starting, as in Livy.
	Submitting bool
	// ID is the cluster manager's id of the application (application_…, app-…), when the
	// backend asks one; "" until it is known.
	ID string
	// SparkUIURL and DriverLogURL link to the running application's UI and its driver's log,
	// when the backend knows them.
	SparkUIURL, DriverLogURL string
}

// Outcome is how an application ended.
type Outcome string

const (
	Succeeded Outcome = "succeeded"
	Failed    Outcome = "failed"
	// Killed: the cluster manager killed it (on the gateway's request or anyone else's).
	Killed Outcome = "killed"
)

// End is an application's end.
type End struct {
	Outcome Outcome
	// ExitCode is spark-submit's exit status where spark-submit ran the driver (local and
	// client mode, -1 after a signal); in cluster mode 0 on success and 1 otherwise.
	ExitCode int
	// Reason says why it did not succeed: how spark-submit ended, or the cluster manager's
	// diagnostics.
	Reason string
}

// EndOf is the end of an application whose driver was the local spark-submit.
func EndOf(exit *supervisor.Exit) *End {
	if exit.Success() {
		return &End{Outcome: Succeeded}
	}
	return &End{Outcome: Failed, ExitCode: exit.Code, Reason: exit.Describe()}
}

// Limits are how a session manager paces its applications.
type Limits struct {
	// MaxConcurrentLaunches bounds the applications in their launch phase (from spark-submit
	// until a live SparkContext) at once; more wait for a slot.
	MaxConcurrentLaunches int
	// LaunchTimeout frees a slot that a launch holds with no sign of a SparkContext.
	LaunchTimeout time.Duration
	// KillGrace is how long a DELETE's SIGTERM has before SIGKILL.
	KillGrace time.Duration
	// PollInterval is how often an application in its launch phase or being killed is
	// inspected.
	PollInterval time.Duration
	// FollowInterval is how often a running application is inspected (PollInterval when 0;
	// a cluster manager's poll interval, since asking more often learns nothing).
	FollowInterval time.Duration
	// ResubmitGrace is how long a launched application that this instance cannot see (nor the
	// cluster manager knows) may still be on its way there — another host's spark-submit,
	// which outlives its gateway — before it is launched again. 0 where the applications'
	// directory tells (local processes).
	ResubmitGrace time.Duration
}

// WithDefaults fills what is unset: 2 launches at once, a minute per launch, 10 s of grace,
// inspections every 100 ms.
func (l Limits) WithDefaults() Limits {
	if l.MaxConcurrentLaunches <= 0 {
		l.MaxConcurrentLaunches = 2
	}
	if l.LaunchTimeout <= 0 {
		l.LaunchTimeout = time.Minute
	}
	if l.KillGrace <= 0 {
		l.KillGrace = 10 * time.Second
	}
	if l.PollInterval <= 0 {
		l.PollInterval = 100 * time.Millisecond
	}
	if l.FollowInterval <= 0 {
		l.FollowInterval = l.PollInterval
	}
	return l
}
