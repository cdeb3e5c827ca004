package supervisor

import (
	"errors"
	"os"
	"strconv"
	"syscall"
	"time"
)

// The detached supervisor tells the process that detached it, through a pipe, when it holds
// the directory and has recorded its pid (it writes nothing: it closes its end, and so does
// its exit, whatever the reason). Detach waits for that before it prints the pid, so that the
// gateway's Start returns only when a DELETE that follows can find and signal the
// application from the directory alone.

// readyEnv names the descriptor of the pipe's write end in the supervisor's environment.
const readyEnv = "SPARKGATE_SUPERVISOR_READY_FD"

// readyWait bounds how long Detach waits for the supervisor to take the directory.
const readyWait = 30 * time.Second

// readyPipe is the write end of the spawner's pipe, or nil when the supervisor was started
// without one. The variable is removed so that spark-submit does not see it; the descriptor is
// closed before spark-submit starts (Close of a nil *os.File is harmless).
func readyPipe() *os.File {
	v, ok := os.LookupEnv(readyEnv)
	if !ok {
		return nil
	}
	os.Unsetenv(readyEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "supervisor-ready")
}

// awaitReady waits until the supervisor closed its end of the pipe, or readyWait passed.
func awaitReady(r *os.File) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b [1]byte
		r.Read(b[:])
	}()
	select {
	case <-done:
	case <-time.After(readyWait):
	}
}

// lockPatience is how long a starting supervisor waits for the directory's lock. An
// inspection holds it for a few system calls; a live supervisor holds it for good.
const lockPatience = 2 * time.Second

// lockExclusive takes the directory's lock for this supervisor's whole life. It reports false
// when another supervisor holds it: only then may the caller exit busy, never because an
// inspection held the lock at that instant.
func lockExclusive(lock *os.File) bool {
	deadline := time.Now().Add(lockPatience)
	for {
		err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return true
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
