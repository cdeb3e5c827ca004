// Package supervisor owns the life of one Spark application process on this host and the
// directory that records it, so that the application outlives the server that started it and
// a restarted server can tell, from the directory alone, what became of it.
//
// An application directory (<data-dir>/apps/<tag>) holds:
//
//	lock         flock'ed by the live supervisor for its whole life
//	started      created (durably) just before spark-submit is started
//	info.json    the supervisor's pid, which is also its process group id
//	exit.json    how spark-submit ended, written atomically when it did
//	output.log   spark-submit's stdout and stderr, and the supervisor's own messages
//
// The protocol makes launching idempotent per directory: any number of supervisors may be
// started for one tag, concurrently or after crashes, and spark-submit runs at most once,
// because only the holder of the lock may create "started", and nobody starts spark-submit
// when "started" already exists.
//
// With an AppUser (--app-user) the supervisor stays the gateway's user and keeps this
// directory, which the application's user can neither enter nor write; spark-submit runs as
// that user in a working directory of its own (see AppUser).
package supervisor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Exit codes of the supervise command.
const (
	ExitOK    = 0  // spark-submit ran (whatever its own status) or had already run
	ExitBusy  = 75 // another supervisor holds the directory
	ExitLost  = 76 // an earlier supervisor died after starting spark-submit
	ExitUsage = 64
)

// Dir is one application's directory.
type Dir string

func (d Dir) path(name string) string { return filepath.Join(string(d), name) }

// LogPath is where the application's whole output is kept.
func (d Dir) LogPath() string { return d.path("output.log") }

// Exit is how an application ended.
type Exit struct {
	// Code is spark-submit's exit status, or -1 when it was ended by a signal.
	Code   int    `json:"code"`
	Signal string `json:"signal,omitempty"`
	// Lost means the supervisor died after starting spark-submit, so its status is unknown.
	Lost       bool      `json:"lost,omitempty"`
	Error      string    `json:"error,omitempty"`
	FinishedAt time.Time `json:"finishedAt"`
}

// Success reports whether the application exited with status 0.
func (e *Exit) Success() bool { return e.Code == 0 && !e.Lost && e.Error == "" && e.Signal == "" }

// Describe says in words how the application ended.
func (e *Exit) Describe() string {
	switch {
	case e.Lost:
		return "the application's supervisor was lost; its outcome is unknown"
	case e.Error != "":
		return "spark-submit could not be started: " + e.Error
	case e.Signal != "":
		return "spark-submit was ended by signal " + e.Signal
	default:
		return "spark-submit exited with code " + strconv.Itoa(e.Code)
	}
}

type info struct {
	PID       int       `json:"pid"`
	ChildPID  int       `json:"childPid"`
	StartedAt time.Time `json:"startedAt"`
}

// Status is what an application directory says about its application.
type Status int

const (
	// NotStarted: no supervisor has started spark-submit; launching is safe.
	NotStarted Status = iota
	// Running: a live supervisor holds the directory.
	Running
	// Finished: exit.json records the outcome.
	Finished
)

func (s Status) String() string {
	return [...]string{"not-started", "running", "finished"}[s]
}

// Inspect reads the directory's state. It briefly takes the lock when nobody holds it; a
// supervisor starting at that very instant waits for it (lockExclusive).
func Inspect(d Dir) (Status, *Exit, error) {
	if e, err := readExit(d); err == nil {
		return Finished, e, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, nil, err
	}
	f, err := os.Open(d.path("lock"))
	if errors.Is(err, fs.ErrNotExist) {
		return NotStarted, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("inspect %s: %w", d, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return Running, nil, nil
		}
		return 0, nil, fmt.Errorf("inspect %s: lock: %w", d, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	// Nobody holds the lock: the last supervisor is gone. It may have written its exit
	// between our first look and taking the lock.
	if e, err := readExit(d); err == nil {
		return Finished, e, nil
	}
	if _, err := os.Stat(d.path("started")); err == nil {
		return Finished, &Exit{Code: -1, Lost: true, FinishedAt: time.Now()}, nil
	}
	return NotStarted, nil, nil
}

func readExit(d Dir) (*Exit, error) {
	b, err := os.ReadFile(d.path("exit.json"))
	if err != nil {
		return nil, err
	}
	var e Exit
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("read %s: %w", d.path("exit.json"), err)
	}
	return &e, nil
}

// Run is the supervise command: it starts argv once for the directory and waits for it, as
// the user of as when as is not nil (as this process's user otherwise). The process's stdout
// and stderr are the application log (the spawner arranges that).
func Run(d Dir, argv []string, as *AppUser) int {
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "sparkgate supervise: no command to run")
		return ExitUsage
	}
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		fmt.Fprintf(os.Stderr, "sparkgate supervise: %v\n", err)
		return ExitUsage
	}
	lock, err := os.OpenFile(d.path("lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sparkgate supervise: %v\n", err)
		return ExitUsage
	}
	defer lock.Close()
	// Whatever happens next, the spawner stops waiting when this process ends.
	ready := readyPipe()
	defer ready.Close()
	if !lockExclusive(lock) {
		return ExitBusy
	}
	if _, err := readExit(d); err == nil {
		return ExitOK
	}
	if _, err := os.Stat(d.path("started")); err == nil {
		fmt.Fprintln(os.Stderr, "sparkgate: the application's previous supervisor died after starting it; its outcome is unknown")
		_ = WriteFileAtomic(d.path("exit.json"), mustJSON(&Exit{Code: -1, Lost: true, FinishedAt: time.Now()}))
		return ExitLost
	}
	// A signal from now on is passed to spark-submit once it runs, so that a DELETE that
	// comes right after the spawner returned ends it.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	// Say who we are, and mark the directory started, before the spawner returns: from then
	// on whoever inspects the directory finds the application running (or lost), never
	// not-started, and can signal its group.
	started := time.Now()
	_ = WriteFileAtomic(d.path("info.json"), mustJSON(&info{PID: os.Getpid(), StartedAt: started}))
	if err := createDurably(d.path("started")); err != nil {
		fmt.Fprintf(os.Stderr, "sparkgate supervise: %v\n", err)
		return ExitUsage
	}
	ready.Close()
	cmd, err := command(d, argv, as)
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sparkgate: cannot start %s: %v\n", argv[0], err)
		_ = WriteFileAtomic(d.path("exit.json"), mustJSON(&Exit{Code: -1, Error: err.Error(), FinishedAt: time.Now()}))
		return ExitOK
	}
	for _, f := range cmd.ExtraFiles {
		// handed over to the application (AppUser.execStage): the descriptor is its copy now
		f.Close()
		os.Remove(f.Name())
	}
	_ = WriteFileAtomic(d.path("info.json"), mustJSON(&info{PID: os.Getpid(), ChildPID: cmd.Process.Pid, StartedAt: started}))
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	for done := false; !done; {
		select {
		case sig := <-sigs:
			// A signal sent to the whole group reached the child already; one sent to the
			// supervisor alone is passed on, so that killing either stops the application.
			_ = cmd.Process.Signal(sig)
		case werr = <-waited:
			done = true
		}
	}
	exit := &Exit{FinishedAt: time.Now()}
	var ee *exec.ExitError
	switch {
	case werr == nil, errors.Is(werr, exec.ErrWaitDelay):
	case errors.As(werr, &ee):
		exit.Code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			exit.Signal = ws.Signal().String()
		}
	default:
		exit.Code, exit.Error = -1, werr.Error()
	}
	if err := WriteFileAtomic(d.path("exit.json"), mustJSON(exit)); err != nil {
		fmt.Fprintf(os.Stderr, "sparkgate supervise: record exit: %v\n", err)
	}
	return ExitOK
}

// command is how argv is started: as it is, writing into the log directly, or as the user of
// as, writing into it through a pipe of this process (the log file, open for writing, could
// otherwise be truncated by the application, which may not change anything of d).
func command(d Dir, argv []string, as *AppUser) (*exec.Cmd, error) {
	if as == nil {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		return cmd, nil
	}
	cmd, err := as.execStage(d, argv)
	if err != nil {
		return nil, err
	}
	log := struct{ io.Writer }{os.Stdout}
	cmd.Stdout, cmd.Stderr = log, log
	// a process the application left behind may hold the pipe open after spark-submit ended
	cmd.WaitDelay = 5 * time.Second
	return cmd, nil
}

// Detach is the first half of a double fork: it starts the supervisor for d in a new session
// (so it has its own process group and outlives whoever started it), prints its pid and
// returns without waiting for it. self is the command that runs this binary's supervise.
func Detach(self []string, d Dir, argv []string) int {
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		fmt.Fprintf(os.Stderr, "sparkgate supervise: %v\n", err)
		return ExitUsage
	}
	logf, err := os.OpenFile(d.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sparkgate supervise: %v\n", err)
		return ExitUsage
	}
	defer logf.Close()
	args := append(append(append([]string{}, self[1:]...), "--dir", string(d), "--"), argv...)
	cmd := exec.Command(self[0], args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sparkgate supervise: %v\n", err)
		return ExitUsage
	}
	defer readyR.Close()
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.Env = append(os.Environ(), readyEnv+"=3")
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sparkgate supervise: %v\n", err)
		return ExitUsage
	}
	awaitReady(readyR)
	fmt.Println(cmd.Process.Pid)
	return ExitOK
}

// Spawn starts a detached supervisor for d running argv in the working directory workDir
// ("": this process's), through detachCmd (this binary's "supervise --detach"), and returns
// the supervisor's pid. It returns once the supervisor holds the directory and recorded its
// pid (so that Inspect says Running and Signal reaches it without knowing the pid), or gave
// up; it does not wait for spark-submit.
func Spawn(ctx context.Context, detachCmd []string, d Dir, workDir string, argv, env []string) (int, error) {
	args := append(append(append([]string{}, detachCmd[1:]...), "--dir", string(d), "--"), argv...)
	cmd := exec.CommandContext(ctx, detachCmd[0], args...)
	cmd.Env, cmd.Dir = env, workDir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("start supervisor: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return 0, fmt.Errorf("start supervisor: unexpected output %q", out)
	}
	return pid, nil
}

// Signal sends sig to the application's whole process group when its supervisor is alive
// (its pid, which leads the group, is recorded before Spawn returns). It reports whether a
// signal was sent.
func Signal(d Dir, sig syscall.Signal) (bool, error) {
	st, _, err := Inspect(d)
	if err != nil || st != Running {
		return false, err
	}
	pid := 0
	if b, err := os.ReadFile(d.path("info.json")); err == nil {
		var in info
		if json.Unmarshal(b, &in) == nil {
			pid = in.PID
		}
	}
	if pid <= 1 {
		return false, nil
	}
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return false, fmt.Errorf("signal application group %d: %w", pid, err)
	}
	return true, nil
}

// AppendLog adds a line of the server's own to the application log.
func AppendLog(d Dir, line string) error {
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(d.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.WriteString(strings.TrimRight(line, "\n") + "\n")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func createDurably(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// WriteFileAtomic writes a file of the application's directory atomically and durably: a
// reader sees all of it or nothing, after a crash too.
func WriteFileAtomic(path string, data []byte) error {
	// A temporary file of its own (0600): writers of one path at once (two instances, a
	// launch and its retry) never write into each other's, and the last rename wins whole.
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
