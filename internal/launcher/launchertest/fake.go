// Package launchertest is the one launcher fake of the unit tests: it starts nothing, records
// every start (with its extra environment) and signal, and plays each application's status as
// the test sets it.
package launchertest

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// Fake implements what the session managers need of a launcher. Files whose name contains
// "refused" are refused by its policy. The zero value is not usable; use New.
type Fake struct {
	dir     string
	mu      sync.Mutex
	starts  map[string][][]string // tag -> the extra environment of each start
	status  map[string]supervisor.Status
	exits   map[string]*supervisor.Exit
	ids     map[string]string
	signals map[string][]syscall.Signal
	notes   map[string][]string
	// Submitting makes every started application report Submitting until SetSubmitting
	// says otherwise (a cluster manager that does not run it yet).
	Submitting bool
	submitted  map[string]bool // tags no longer submitting
	// OnStart, when set, is called by Start (which waits for it) and returns the status the
	// started application has then: Running as a start normally leaves it, NotStarted for a
	// supervisor that gave way. Set it before the manager starts.
	OnStart func(tag string) supervisor.Status
	kills   map[string]int // tag -> signals that reached a running application
}

// New returns a fake whose logs live in dir.
func New(dir string) *Fake {
	return &Fake{dir: dir, starts: map[string][][]string{}, status: map[string]supervisor.Status{},
		exits: map[string]*supervisor.Exit{}, ids: map[string]string{}, signals: map[string][]syscall.Signal{},
		notes: map[string][]string{}, submitted: map[string]bool{}, kills: map[string]int{}}
}

func (f *Fake) Command(spec *launcher.Spec, tag string) ([]string, error) {
	if strings.Contains(spec.File, "refused") {
		return nil, errors.New("refused by policy")
	}
	return []string{"spark-submit", spec.File}, nil
}

// Start records the start and makes the application running; its pid is 1000 plus the
// number of starts of its tag.
func (f *Fake) Start(_ context.Context, tag string, _ []string, env ...string) (int, error) {
	status := supervisor.Running
	if f.OnStart != nil {
		status = f.OnStart(tag)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts[tag] = append(f.starts[tag], env)
	f.status[tag] = status
	return 1000 + len(f.starts[tag]), nil
}

func (f *Fake) Inspect(_ context.Context, tag string) (launcher.App, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	app := launcher.App{Status: f.status[tag], ID: f.ids[tag]}
	app.Submitting = app.Status == supervisor.Running && f.Submitting && !f.submitted[tag]
	if app.Status == supervisor.Finished {
		exit := f.exits[tag]
		if exit == nil {
			exit = &supervisor.Exit{}
		}
		app.End = launcher.EndOf(exit)
	}
	return app, nil
}

// Kill records the signal it stands for (SIGTERM, SIGKILL by force) and reports whether the
// application was running.
func (f *Fake) Kill(_ context.Context, tag string, force bool) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sig := syscall.SIGTERM
	if force {
		sig = syscall.SIGKILL
	}
	f.signals[tag] = append(f.signals[tag], sig)
	if f.status[tag] != supervisor.Running {
		return false, nil
	}
	f.kills[tag]++
	return true, nil
}

// Kills returns how many signals reached the application of tag while it was running.
func (f *Fake) Kills(tag string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.kills[tag]
}

// HoldStarts makes every start wait, once it sent its tag on starting, until release is
// called: a test acts while an application is being started. Call it before the manager starts.
func (f *Fake) HoldStarts() (starting <-chan string, release func()) {
	tags, released := make(chan string, 16), make(chan struct{})
	f.OnStart = func(tag string) supervisor.Status {
		tags <- tag
		<-released
		return supervisor.Running
	}
	return tags, sync.OnceFunc(func() { close(released) })
}

// Capabilities are those of local processes in the fake's own scope.
func (f *Fake) Capabilities() (launcher.Capabilities, error) {
	return launcher.Capabilities{Scope: f.dir, SubmitsLocally: true}, nil
}

func (f *Fake) LogPath(tag string) string             { return filepath.Join(f.dir, tag+".log") }
func (f *Fake) Remove(string) error                   { return nil }
func (f *Fake) Resolve(_, ref string) (string, error) { return ref, nil }

// SetStatus makes the application of tag report st.
func (f *Fake) SetStatus(tag string, st supervisor.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[tag] = st
}

// Submitted makes the application of tag run at its cluster manager.
func (f *Fake) Submitted(tag string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitted[tag] = true
}

// End makes the application of tag finish with exit.
func (f *Fake) End(tag string, exit *supervisor.Exit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status[tag], f.exits[tag] = supervisor.Finished, exit
}

// SetID makes the application of tag report the cluster manager's id id.
func (f *Fake) SetID(tag, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[tag] = id
}

// Starts returns the extra environment of each start of tag.
func (f *Fake) Starts(tag string) [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.starts[tag]...)
}

// Started returns how many applications were started, whatever their tag.
func (f *Fake) Started() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.starts {
		n += len(s)
	}
	return n
}

// Env returns the value of key in the last start's environment of any application, or "".
func (f *Fake) Env(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, starts := range f.starts {
		for _, kv := range starts[len(starts)-1] {
			if v, ok := strings.CutPrefix(kv, key+"="); ok {
				return v
			}
		}
	}
	return ""
}

// Signals returns the signals sent to the application of tag.
func (f *Fake) Signals(tag string) []syscall.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]syscall.Signal(nil), f.signals[tag]...)
}

// Note records a line written into the application's log.
func (f *Fake) Note(tag, line string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notes[tag] = append(f.notes[tag], line)
	return nil
}

// Notes returns the lines written into the log of tag's application.
func (f *Fake) Notes(tag string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.notes[tag]...)
}

// Eventually waits, up to 10 s, until cond holds, and fails the test otherwise: what the managers
// do with the fake's applications happens on goroutines of their own.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
