package standalone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sparkgate/sparkgate/internal/httptail"
)

// Driver is what the Master tells of one cluster-mode driver.
type Driver struct {
	ID string
	// State is the Master's DriverState: SUBMITTED, RUNNING, RELAUNCHING, UNKNOWN while it
	// lives; FINISHED, FAILED, KILLED, ERROR once it ended.
	State string
	// WorkerUI is the web address of the Worker that runs (or ran) it, when known.
	WorkerUI string
}

// ended reports whether the driver's state is final.
func (d *Driver) ended() bool {
	switch d.State {
	case "FINISHED", "FAILED", "KILLED", "ERROR":
		return true
	}
	return false
}

// Master is a client of a standalone Master (or of the Masters of a high-availability
// cluster, one of which is ALIVE): its REST submission server (submit, status, kill) and its
// web UI's /json/ page (every driver at once).
type Master struct {
	rest []string // http://host:6066; none when drivers are submitted over RPC
	web  []string // http://host:8080
	http *http.Client
	// token, when set, signs each request to the REST servers (their JWSFilter).
	token func() (string, error)
}

// SignWith makes every request to the REST servers carry a token signed with key, for
// Masters whose REST servers a JWSFilter protects (jws.go).
func (m *Master) SignWith(key []byte) error {
	token, err := signer(key)
	if err != nil {
		return err
	}
	m.token = token
	return nil
}

// sign gives a request to a REST server the token of its JWSFilter, when there is one.
func (m *Master) sign(req *http.Request) error {
	if m.token == nil {
		return nil
	}
	token, err := m.token()
	if err != nil {
		return fmt.Errorf("sign the request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return nil
}

// HasREST reports whether drivers are submitted, asked about and killed through the Masters'
// REST servers; otherwise spark-submit submits them over the Masters' RPC port.
func (m *Master) HasREST() bool { return len(m.rest) > 0 }

// NewMaster returns a client of the Masters whose REST submission servers and web UIs are at
// those addresses.
func NewMaster(rest, web []string) *Master {
	trim := func(urls []string) []string {
		out := make([]string, len(urls))
		for i, u := range urls {
			out[i] = strings.TrimRight(u, "/")
		}
		return out
	}
	return &Master{rest: trim(rest), web: trim(web), http: &http.Client{Timeout: 10 * time.Second}}
}

// String names the Masters for log lines.
func (m *Master) String() string { return "the Spark Master " + strings.Join(m.web, ",") }

// ErrUnreachable is the error of a request no Master could be reached for (no connection
// could be made to any): nothing was submitted, and asking again is safe. A request that was
// sent and whose answer was lost is not unreachable: the Master may have acted on it.
var ErrUnreachable = errors.New("no Spark Master could be reached")

// submissionResponse is the REST server's answer (CreateSubmissionResponse,
// SubmissionStatusResponse, KillSubmissionResponse, ErrorResponse).
type submissionResponse struct {
	Action       string `json:"action"`
	Message      string `json:"message"`
	SubmissionID string `json:"submissionId"`
	Success      bool   `json:"success"`
	DriverState  string `json:"driverState"`
	WorkerID     string `json:"workerId"`
}

// Create submits a driver and returns its id (driver-…). It asks each Master in turn: a
// standby one refuses, the ALIVE one accepts. The error wraps ErrUnreachable when no Master
// answered at all.
func (m *Master) Create(ctx context.Context, req *CreateRequest) (string, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	resp, err := m.ask(ctx, http.MethodPost, "/v1/submissions/create", body)
	if err != nil {
		return "", err
	}
	return resp.SubmissionID, nil
}

// Status asks the Masters' REST servers about one driver; ok is false when none knows it.
func (m *Master) Status(ctx context.Context, id string) (Driver, bool, error) {
	resp, err := m.ask(ctx, http.MethodGet, "/v1/submissions/status/"+url.PathEscape(id), nil)
	var refused *refusal
	if errors.As(err, &refused) {
		return Driver{}, false, nil
	}
	if err != nil {
		return Driver{}, false, err
	}
	return Driver{ID: id, State: resp.DriverState}, true, nil
}

// Kill asks the Master to kill driver id.
func (m *Master) Kill(ctx context.Context, id string) error {
	_, err := m.ask(ctx, http.MethodPost, "/v1/submissions/kill/"+url.PathEscape(id), nil)
	return err
}

// authAdvice says what to do about a REST server that refused a request's credentials.
func (m *Master) authAdvice() string {
	if m.token == nil {
		return "its requests must be signed (Spark's JWSFilter): give the filter's secretKey with --standalone-rest-secret-file"
	}
	return "the signed token was refused: the key of --standalone-rest-secret-file is not the JWSFilter's secretKey"
}

// refusal is a Master's answer without success: its message says why.
type refusal struct{ message string }

func (r *refusal) Error() string { return "the Spark Master refused: " + r.message }

// ask sends one request to each Master's REST server in turn until one succeeds; a refusal
// (a standby Master, an unknown driver) or an unreachable Master passes to the next.
func (m *Master) ask(ctx context.Context, method, path string, body []byte) (*submissionResponse, error) {
	var errs []error
	reached := false
	for _, base := range m.rest {
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json;charset=UTF-8")
		if err := m.sign(req); err != nil {
			return nil, err
		}
		resp, err := m.http.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", base, err))
			var op *net.OpError
			reached = reached || !errors.As(err, &op) || op.Op != "dial"
			continue
		}
		reached = true
		var out submissionResponse
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			// a JWSFilter's answer: nothing was done
			errs = append(errs, &refusal{message: fmt.Sprintf("%s answered %s: %s", base, resp.Status, m.authAdvice())})
		case err != nil:
			errs = append(errs, fmt.Errorf("%s %s: %s: %w", base, path, resp.Status, err))
		case !out.Success:
			// the first line: what follows is the Master's stack trace
			first, _, _ := strings.Cut(strings.TrimSpace(out.Message), "\n")
			errs = append(errs, &refusal{message: first})
		default:
			return &out, nil
		}
	}
	if !reached {
		return nil, fmt.Errorf("%w: %w", ErrUnreachable, errors.Join(errs...))
	}
	for _, err := range errs {
		var r *refusal
		if errors.As(err, &r) {
			return nil, r // what a Master said counts more than what another could not say
		}
	}
	return nil, errors.Join(errs...)
}

// masterState is the part of the Master's /json/ page this package reads.
type masterState struct {
	Status  string `json:"status"`
	Workers []struct {
		ID    string `json:"id"`
		WebUI string `json:"webuiaddress"`
	} `json:"workers"`
	ActiveDrivers    []driverInfo `json:"activedrivers"`
	CompletedDrivers []driverInfo `json:"completeddrivers"`
}

type driverInfo struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Worker string `json:"worker"`
}

// Drivers lists every driver the ALIVE Master knows (those running and the last ended ones it
// retains, spark.deploy.retainedDrivers), by id, and returns that Master's web address.
func (m *Master) Drivers(ctx context.Context) (map[string]Driver, string, error) {
	var errs []error
	for _, base := range m.web {
		var st masterState
		if err := m.getJSON(ctx, base+"/json/", &st); err != nil {
			errs = append(errs, err)
			continue
		}
		if st.Status != "ALIVE" {
			continue // a standby Master knows no drivers
		}
		workers := map[string]string{}
		for _, w := range st.Workers {
			workers[w.ID] = w.WebUI
		}
		drivers := map[string]Driver{}
		for _, d := range append(st.CompletedDrivers, st.ActiveDrivers...) {
			drivers[d.ID] = Driver{ID: d.ID, State: d.State, WorkerUI: workers[d.Worker]}
		}
		return drivers, base, nil
	}
	if len(errs) == 0 {
		return nil, "", fmt.Errorf("no Spark Master of %s is ALIVE", strings.Join(m.web, ", "))
	}
	return nil, "", errors.Join(errs...)
}

func (m *Master) getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// driverLog reads one of a driver's files (stdout, stderr) from the Worker that ran it: the
// last limit bytes of it, which the Worker's log page serves (byteLength).
func (m *Master) driverLog(ctx context.Context, workerUI, id, name string, limit int) (string, error) {
	u := fmt.Sprintf("%s/log/?driverId=%s&logType=%s&byteLength=%d", strings.TrimRight(workerUI, "/"),
		url.QueryEscape(id), url.QueryEscape(name), limit)
	// The Worker heads the text with "==== Bytes 0-21 of 21 of /path ====": room for it.
	b, whole, err := httptail.Get(ctx, m.http, u, limit+4096)
	if err != nil {
		return "", fmt.Errorf("the Worker %s: %w", workerUI, err)
	}
	text := string(b)
	if head, rest, ok := strings.Cut(text, "\n"); whole && ok && strings.HasPrefix(head, "==== Bytes ") {
		text = rest
	}
	text = text[max(0, len(text)-limit):] // a Worker that sent more than asked
	return strings.TrimRight(text, "\n"), nil
}
