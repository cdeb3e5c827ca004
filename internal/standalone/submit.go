package standalone

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// Record is what the submission left in the application's directory (submission.json): the
// driver's id once a Master accepted it, or why it was refused.
type Record struct {
	DriverID    string    `json:"driverId,omitempty"`
	Refused     string    `json:"refused,omitempty"`
	SubmittedAt time.Time `json:"submittedAt"`
}

// submitRetryMax bounds the wait between two tries while no Master can be reached.
const submitRetryMax = 30 * time.Second

// Submit is the internal command "sparkgate standalone-submit" that the launcher's supervisor
// runs in place of spark-submit in standalone cluster mode: it sends the request file to the
// Masters' REST submission servers and records the answer; no JVM. While no Master can be
// reached (nothing was submitted) it tries again, with a backoff of 1, 2, 4 … s (at most
// 30 s), for --wait: an outage of the cluster manager delays a create, it does not lose it.
// It exits 0 once a Master accepted the driver and 1 when it was refused or not reached.
func Submit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sparkgate standalone-submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	request := fs.String("request", "", "the CreateSubmissionRequest to send (JSON)")
	record := fs.String("record", "", "where to record the answer")
	rest := fs.String("rest", "", "the Masters' REST submission servers, comma-separated")
	secretFile := fs.String("rest-secret-file", "", "the key the requests to the REST servers are signed with")
	rpc := fs.Bool("rpc", false, "run the spark-submit command after -- instead (over the Masters' RPC port)")
	wait := fs.Duration("wait", 15*time.Minute, "how long to keep trying while no Master can be reached")
	err := fs.Parse(args)
	if err == nil && *rpc && *record != "" && fs.NArg() > 0 {
		return submitRPC(fs.Args(), *record, *wait, stdout, stderr)
	}
	if err != nil || *request == "" || *record == "" || *rest == "" {
		fmt.Fprintln(stderr, "usage: sparkgate standalone-submit --request FILE --record FILE --rest URL[,URL] [--rest-secret-file FILE] [--wait D]\n"+
			"       sparkgate standalone-submit --rpc --record FILE [--wait D] -- spark-submit ...")
		return 64
	}
	var req CreateRequest
	b, err := os.ReadFile(*request)
	if err == nil {
		err = json.Unmarshal(b, &req)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sparkgate: read the submission: %v\n", err)
		return 1
	}
	m := NewMaster(strings.Split(*rest, ","), nil)
	if *secretFile != "" {
		key, err := ReadRESTSecret(*secretFile)
		if err == nil {
			err = m.SignWith(key)
		}
		if err != nil {
			fmt.Fprintf(stderr, "sparkgate: %v\n", err)
			return finish(stderr, *record, Record{Refused: err.Error(), SubmittedAt: time.Now()}, 1)
		}
	}
	return submitUntilReached(*record, *wait, stdout, stderr, func(ctx context.Context) (string, error) { return m.Create(ctx, &req) })
}

// submitUntilReached submits with try and records the outcome. While no Master can be reached
// (try's error wraps ErrUnreachable: nothing was submitted) it tries again, with a backoff of
// 1, 2, 4 … s (at most 30 s), for wait; a SIGTERM stops it.
func submitUntilReached(record string, wait time.Duration, stdout, stderr io.Writer, try func(context.Context) (string, error)) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	deadline := time.Now().Add(wait)
	for backoff := time.Second; ; backoff = min(2*backoff, submitRetryMax) {
		id, err := try(ctx)
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "sparkgate: the Spark Master accepted the driver as %s\n", id)
			return finish(stderr, record, Record{DriverID: id, SubmittedAt: time.Now()}, 0)
		case ctx.Err() != nil:
		case !errors.Is(err, ErrUnreachable) || time.Now().Add(backoff).After(deadline):
			why := unsubmitted(err, wait)
			fmt.Fprintf(stdout, "sparkgate: %s\n", why)
			return finish(stderr, record, Record{Refused: why, SubmittedAt: time.Now()}, 1)
		default:
			fmt.Fprintf(stdout, "sparkgate: %v; trying again in %s\n", err, backoff)
		}
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, "sparkgate: the submission was stopped before a Master could be reached")
			return finish(stderr, record, Record{Refused: "stopped before a Spark Master could be reached", SubmittedAt: time.Now()}, 1)
		case <-time.After(backoff):
		}
	}
}

// unsubmitted says why a submission that ended with err has no driver.
func unsubmitted(err error, wait time.Duration) string {
	var refused *refusal
	var failed *notSubmitted
	switch {
	case errors.As(err, &refused), errors.As(err, &failed):
		return err.Error()
	case errors.Is(err, ErrUnreachable):
		return fmt.Sprintf("no Spark Master could be reached for %s: %v", wait, err)
	default:
		// sent, and the answer lost: asking again could start a second driver
		return fmt.Sprintf("the Spark Master's answer was lost, so whether it took the driver is unknown "+
			"(a driver of this application's main class on the Master's page would be it): %v", err)
	}
}

func finish(stderr io.Writer, path string, r Record, code int) int {
	if err := writeRecord(path, r); err != nil {
		fmt.Fprintf(stderr, "sparkgate: record the submission: %v\n", err)
		return 1
	}
	return code
}

// writeRecord writes the record atomically and durably.
func writeRecord(path string, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return supervisor.WriteFileAtomic(path, b)
}

// readRecord reads the record; ok is false while there is none.
func readRecord(path string) (Record, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	return r, true, nil
}
