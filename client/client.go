// Package client is a Go client for sparkgate, and for the batch API of Apache Livy that
// sparkgate serves.
//
// Creation is idempotent by default: CreateBatch generates a requestId once and sends the
// create as PUT /batches with it, retrying on network errors and 5xx answers with exponential
// backoff and jitter until it gets an answer (or its context ends). However often the
// request or its response is lost, the server starts exactly one Spark application for it.
// Statements are sent the same way (Run, AddStatement): each runs once.
//
//	c := client.New("http://127.0.0.1:8998")
//	b, err := c.CreateBatch(ctx, &client.CreateBatchRequest{File: "/jobs/pi.py"})
//	b, err = c.WaitBatch(ctx, b.ID, time.Second)
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/sparkgate/sparkgate/internal/livy"
)

// The wire types are Livy's, as the server defines them.
type (
	CreateBatchRequest = livy.CreateBatchRequest
	Batch              = livy.Batch
	BatchList          = livy.BatchList
	Log                = livy.Log
	Reservation        = livy.Reservation
	Version            = livy.Version
	// String is a request string field (args, conf values).
	String = livy.String
)

// Terminal reports whether a batch in state will not change again.
func Terminal(state string) bool {
	return state == "success" || state == "dead" || state == "killed" || state == "error"
}

// Error is an answer of the server that is not a success.
type Error struct {
	StatusCode int
	Msg        string
}

func (e *Error) Error() string { return fmt.Sprintf("sparkgate: %d: %s", e.StatusCode, e.Msg) }

// IsNotFound reports whether err is a 404 from the server.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// Retry is the backoff of retried calls: waits grow from Initial to Max, each drawn at random
// below its bound ("full jitter"), until MaxElapsed (0: until the context ends).
type Retry struct {
	Initial    time.Duration
	Max        time.Duration
	MaxElapsed time.Duration
}

// DefaultRetry retries for up to five minutes, waiting at most five seconds between tries.
var DefaultRetry = Retry{Initial: 100 * time.Millisecond, Max: 5 * time.Second, MaxElapsed: 5 * time.Minute}

// Client talks to one sparkgate (or Livy) server. It is safe for concurrent use.
type Client struct {
	base  string
	http  *http.Client
	retry Retry
	auth  func(*http.Request) // adds the caller's credentials; nil: none
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithBasicAuth authenticates every request as user with password (sparkgate's --auth basic
// or ldap).
func WithBasicAuth(user, password string) Option {
	return func(c *Client) { c.auth = func(r *http.Request) { r.SetBasicAuth(user, password) } }
}

// WithBearerToken authenticates every request with the bearer token that token returns
// (sparkgate's --auth jwt); it is asked at each request, so that it may renew the token.
func WithBearerToken(token func() string) Option {
	return func(c *Client) { c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token()) } }
}

// WithRetry replaces DefaultRetry.
func WithRetry(r Retry) Option { return func(c *Client) { c.retry = r } }

// New returns a client of the server at baseURL, such as http://127.0.0.1:8998.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: trimSlash(baseURL), http: &http.Client{Timeout: time.Minute}, retry: DefaultRetry}
	for _, o := range opts {
		o(c)
	}
	return c
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// call sends one request and decodes a 2xx answer into out. With retry, network errors and
// 429/5xx answers are retried with backoff; the body is re-sent unchanged each time.
func (c *Client) call(ctx context.Context, method, path string, header http.Header, body, out any, retry bool) (int, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
	}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		status, wait, err := c.once(ctx, method, path, header, payload, out)
		if err == nil || !retry || wait < 0 {
			return status, err
		}
		if c.retry.MaxElapsed > 0 && time.Since(start) > c.retry.MaxElapsed {
			return status, fmt.Errorf("gave up after %s: %w", time.Since(start).Round(time.Millisecond), err)
		}
		bound := min(c.retry.Max, c.retry.Initial<<min(attempt, 20))
		sleep := max(wait, time.Duration(rand.Int64N(int64(bound)+1)))
		select {
		case <-ctx.Done():
			return status, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(sleep):
		}
	}
}

// once sends a request once. wait is negative when the error is final, else the least time
// to wait before a retry (from Retry-After).
func (c *Client) once(ctx context.Context, method, path string, header http.Header, payload []byte, out any) (int, time.Duration, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, -1, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != nil {
		c.auth(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, -1, ctx.Err()
		}
		return 0, 0, err // the network: worth another try
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, 0, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var m livy.Message
		if json.Unmarshal(data, &m) != nil || m.Msg == "" {
			m.Msg = string(bytes.TrimSpace(data))
		}
		apiErr := &Error{StatusCode: resp.StatusCode, Msg: m.Msg}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			wait := time.Duration(0)
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
				wait = time.Duration(s) * time.Second
			}
			return resp.StatusCode, wait, apiErr
		}
		return resp.StatusCode, -1, apiErr
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, -1, fmt.Errorf("decode answer of %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, -1, nil
}

// NewRequestID returns a fresh requestId for CreateBatchWithRequestID.
func NewRequestID() string { return uuid.NewString() }

// CreateBatch creates a batch exactly once: it sends PUT /batches under a new requestId and
// retries until it has an answer. Against a server without PUT (Livy itself), use
// CreateBatchPOST.
func (c *Client) CreateBatch(ctx context.Context, req *CreateBatchRequest) (*Batch, error) {
	b, _, err := c.CreateBatchWithRequestID(ctx, NewRequestID(), req)
	return b, err
}

// CreateBatchWithRequestID sends PUT /batches with the given requestId, retrying until it has
// an answer. created is false when the server already had a batch for requestId.
func (c *Client) CreateBatchWithRequestID(ctx context.Context, requestID string, req *CreateBatchRequest) (b *Batch, created bool, err error) {
	b = &Batch{}
	status, err := c.call(ctx, http.MethodPut, "/batches", http.Header{"Requestid": {requestID}}, req, b, true)
	if err != nil {
		return nil, false, err
	}
	return b, status == http.StatusCreated, nil
}

// CreateBatchPOST is Livy's plain POST /batches. It is not retried: a retry could start a
// second application.
func (c *Client) CreateBatchPOST(ctx context.Context, req *CreateBatchRequest) (*Batch, error) {
	b := &Batch{}
	_, err := c.call(ctx, http.MethodPost, "/batches", nil, req, b, false)
	return b, err
}

// ReserveBatchID reserves a batch id for PutBatch (POST /batches/id). A retry after a lost
// answer reserves another id; the unused one expires on the server.
func (c *Client) ReserveBatchID(ctx context.Context) (*Reservation, error) {
	r := &Reservation{}
	_, err := c.call(ctx, http.MethodPost, "/batches/id", nil, nil, r, true)
	return r, err
}

// PutBatch creates the batch of a reservation (PUT /batches/{id}), retrying until answered.
func (c *Client) PutBatch(ctx context.Context, res *Reservation, req *CreateBatchRequest) (*Batch, error) {
	body := struct {
		*CreateBatchRequest
		PutKey string `json:"putKey"`
	}{req, res.PutKey}
	b := &Batch{}
	_, err := c.call(ctx, http.MethodPut, "/batches/"+strconv.FormatInt(res.SessionID, 10), nil, body, b, true)
	return b, err
}

// Batch returns the batch with id.
func (c *Client) Batch(ctx context.Context, id int64) (*Batch, error) {
	b := &Batch{}
	_, err := c.call(ctx, http.MethodGet, "/batches/"+strconv.FormatInt(id, 10), nil, nil, b, true)
	return b, err
}

// BatchState returns the state of the batch with id.
func (c *Client) BatchState(ctx context.Context, id int64) (string, error) {
	var s livy.State
	_, err := c.call(ctx, http.MethodGet, "/batches/"+strconv.FormatInt(id, 10)+"/state", nil, nil, &s, true)
	return s.State, err
}

// BatchLog returns size lines of the batch's log from line from; a negative from asks for
// the last size lines.
func (c *Client) BatchLog(ctx context.Context, id int64, from, size int) (*Log, error) {
	q := url.Values{"size": {strconv.Itoa(size)}}
	if from >= 0 {
		q.Set("from", strconv.Itoa(from))
	}
	l := &Log{}
	_, err := c.call(ctx, http.MethodGet, "/batches/"+strconv.FormatInt(id, 10)+"/log?"+q.Encode(), nil, nil, l, true)
	return l, err
}

// Batches lists size batches from the from-th.
func (c *Client) Batches(ctx context.Context, from, size int) (*BatchList, error) {
	l := &BatchList{}
	_, err := c.call(ctx, http.MethodGet, fmt.Sprintf("/batches?from=%d&size=%d", from, size), nil, nil, l, true)
	return l, err
}

// DeleteBatch kills and removes the batch with id.
func (c *Client) DeleteBatch(ctx context.Context, id int64) error {
	_, err := c.call(ctx, http.MethodDelete, "/batches/"+strconv.FormatInt(id, 10), nil, nil, nil, false)
	return err
}

// Version returns the server's version.
func (c *Client) Version(ctx context.Context) (*Version, error) {
	v := &Version{}
	_, err := c.call(ctx, http.MethodGet, "/version", nil, nil, v, true)
	return v, err
}

// WaitBatch polls the batch every poll until it is in a terminal state, and returns it.
func (c *Client) WaitBatch(ctx context.Context, id int64, poll time.Duration) (*Batch, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		b, err := c.Batch(ctx, id)
		if err != nil {
			return nil, err
		}
		if Terminal(b.State) {
			return b, nil
		}
		select {
		case <-ctx.Done():
			return b, ctx.Err()
		case <-t.C:
		}
	}
}

// Interactive sessions.
type (
	CreateSessionRequest   = livy.CreateInteractiveRequest
	Session                = livy.Session
	Statement              = livy.Statement
	StatementList          = livy.StatementList
	SessionList            = livy.SessionList
	CreateStatementRequest = livy.CreateStatementRequest
)

// CreateSession creates an interactive session exactly once: PUT /sessions under a new
// requestId, retried until answered.
func (c *Client) CreateSession(ctx context.Context, req *CreateSessionRequest) (*Session, error) {
	s := &Session{}
	_, err := c.call(ctx, http.MethodPut, "/sessions", http.Header{"Requestid": {NewRequestID()}}, req, s, true)
	return s, err
}

// Session returns the interactive session with id.
func (c *Client) Session(ctx context.Context, id int64) (*Session, error) {
	s := &Session{}
	_, err := c.call(ctx, http.MethodGet, "/sessions/"+strconv.FormatInt(id, 10), nil, nil, s, true)
	return s, err
}

// DeleteSession ends the interactive session with id.
func (c *Client) DeleteSession(ctx context.Context, id int64) error {
	_, err := c.call(ctx, http.MethodDelete, "/sessions/"+strconv.FormatInt(id, 10), nil, nil, nil, false)
	return err
}

// WaitSession polls the session until it is idle (ready for statements) or has ended.
func (c *Client) WaitSession(ctx context.Context, id int64, poll time.Duration) (*Session, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		s, err := c.Session(ctx, id)
		if err != nil {
			return nil, err
		}
		if s.State == "idle" || Terminal(s.State) {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-t.C:
		}
	}
}

// Sessions returns a page of the interactive sessions.
func (c *Client) Sessions(ctx context.Context, from, size int) (*SessionList, error) {
	l := &SessionList{}
	_, err := c.call(ctx, http.MethodGet, fmt.Sprintf("/sessions?from=%d&size=%d", from, size), nil, nil, l, true)
	return l, err
}

// Statements returns a session's statements, the newest first (at most 100).
func (c *Client) Statements(ctx context.Context, sessionID int64) (*StatementList, error) {
	l := &StatementList{}
	_, err := c.call(ctx, http.MethodGet, "/sessions/"+strconv.FormatInt(sessionID, 10)+"/statements?order=desc&size=100", nil, nil, l, true)
	return l, err
}

// StatementDone reports whether a statement's state is final.
func StatementDone(state string) bool {
	return state == "available" || state == "error" || state == "cancelled"
}

// Run runs code in a session (in kind, for a shared session; "" for the session's own) once,
// under a new requestId (AddStatement), and polls the statement until it is done.
func (c *Client) Run(ctx context.Context, sessionID int64, code, kind string, poll time.Duration) (*Statement, error) {
	return c.RunWithRequestID(ctx, sessionID, NewRequestID(), code, kind, poll)
}

// RunWithRequestID is Run under the caller's requestId: a second call with the same one (a
// rerun of a program that died) answers the statement of the first and runs nothing.
func (c *Client) RunWithRequestID(ctx context.Context, sessionID int64, requestID, code, kind string, poll time.Duration) (*Statement, error) {
	st, _, err := c.AddStatement(ctx, sessionID, requestID, code, kind)
	if err != nil {
		return nil, err
	}
	path := "/sessions/" + strconv.FormatInt(sessionID, 10) + "/statements/" + strconv.FormatInt(st.ID, 10)
	t := time.NewTicker(poll)
	defer t.Stop()
	for !StatementDone(st.State) {
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-t.C:
		}
		if _, err := c.call(ctx, http.MethodGet, path, nil, nil, st, true); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// AddStatement queues code in a session (in kind; "" for the session's own) exactly once: it
// sends PUT /sessions/{id}/statements with requestID and retries on network errors and 5xx
// until it has an answer, so that however often a request or its answer is lost the code runs
// once. created is false when the session already had the statement of requestID. Against a
// server without that PUT (Livy itself), nothing is run: the 405 is returned.
func (c *Client) AddStatement(ctx context.Context, sessionID int64, requestID, code, kind string) (st *Statement, created bool, err error) {
	req := &CreateStatementRequest{Code: &code}
	if kind != "" {
		req.Kind = &kind
	}
	st = &Statement{}
	status, err := c.call(ctx, http.MethodPut, "/sessions/"+strconv.FormatInt(sessionID, 10)+"/statements",
		http.Header{"Requestid": {requestID}}, req, st, true)
	if err != nil {
		return nil, false, err
	}
	return st, status == http.StatusCreated, nil
}
