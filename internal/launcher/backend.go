package launcher

import (
	"context"
	"syscall"
	"time"

	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// Backend is where the session managers' applications run and how they are found again: the
// seam every cluster backend implements (local processes today, through Launcher; Spark
// standalone and YARN next). Applications are known by their tag alone, so that a restarted or
// adopting instance finds them again without any state of the one that launched them.
type Backend interface {
	// Command builds the spark-submit command of spec under the submission policy; its errors
	// are the client's (400).
	Command(spec *Spec, tag string) ([]string, error)
	// Start launches argv as the application of tag unless it was already started, and
	// returns the pid of what it started.
	Start(ctx context.Context, tag string, argv []string, extraEnv ...string) (int, error)
	// Inspect tells whether the application of tag never started, runs, or ended (and how).
	Inspect(tag string) (supervisor.Status, *supervisor.Exit, error)
	// Signal sends sig to the application of tag; false when it no longer runs.
	Signal(tag string, knownPID int, sig syscall.Signal) (bool, error)
	// LogPath is where the application's log is kept.
	LogPath(tag string) string
	// Note appends a line of the gateway's to the application's log.
	Note(tag, line string) error
	// Resolve checks a user's file reference (a jar, a pyfile) against the policy.
	Resolve(field, ref string) (string, error)
	// Remove forgets what the application left (its directory), once its session is purged.
	Remove(tag string) error
}

var _ Backend = (*Launcher)(nil)

// Limits are how a session manager paces its applications.
type Limits struct {
	// MaxConcurrentLaunches bounds the applications in their launch phase (from spark-submit
	// until a live SparkContext) at once; more wait for a slot.
	MaxConcurrentLaunches int
	// LaunchTimeout frees a slot that a launch holds with no sign of a SparkContext.
	LaunchTimeout time.Duration
	// KillGrace is how long a DELETE's SIGTERM has before SIGKILL.
	KillGrace time.Duration
	// PollInterval is how often an application is inspected.
	PollInterval time.Duration
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
	return l
}
