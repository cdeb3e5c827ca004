// Package api serves Livy's REST contract over HTTP: it decodes requests, calls the session
// managers and encodes Livy's views. Every error becomes a status and a {"msg": ...} body in
// one place, writeError.
package api

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sparkgate/sparkgate/internal/access"
	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/batch"
	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/interactive"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/metrics"
	"github.com/sparkgate/sparkgate/internal/records"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/version"
)

// DefaultMaxBodyBytes bounds a request body; larger ones get 413.
const DefaultMaxBodyBytes = 1 << 20

// DefaultMaxUploadBytes bounds a file uploaded to a session.
const DefaultMaxUploadBytes = 512 << 20

// Config is the API's share of the server configuration.
type Config struct {
	MaxBodyBytes int64
	// MaxUploadBytes bounds a file uploaded to a session (upload-jar, -pyfile, -file).
	MaxUploadBytes int64
	// MaxOutputBytes is the largest statement output a driver sends (interactive.Config's):
	// the bound of a result's body, beyond MaxBodyBytes.
	MaxOutputBytes int64
	// CSRFProtection requires the X-Requested-By header on requests that change state, as
	// Livy's livy.server.csrf-protection.enabled does (off by default: common clients omit it).
	CSRFProtection bool
	// Redaction selects the conf entries shown redacted in views (livy.DefaultRedactionRegex
	// when nil).
	Redaction *regexp.Regexp
	// Guard authenticates every request but the drivers' own (none when nil).
	Guard *auth.Guard
	// Access decides what the authenticated user may do (no access control when nil).
	Access *access.Policy
	// LoopbackOnly says the server listens on loopback only: requests must name a loopback
	// host (or one of AllowedHosts), which a DNS-rebinding page cannot.
	LoopbackOnly bool
	// AllowedHosts are further names requests may address the server by; with any set, only
	// those (and loopback) are answered.
	AllowedHosts []string
	// MaxRequestsPerUser bounds the requests one user (an anonymous client: one address) has
	// under way at once; more get 429 (no bound when 0).
	MaxRequestsPerUser int
	// MetricsElsewhere says /metrics has a listener of its own (--metrics-addr), not the API's.
	MetricsElsewhere bool
	// Readiness answers /readyz (always ready when nil).
	Readiness Readiness
	// Draining says the server shuts down: creates are refused with 503 from then on.
	Draining func() bool
	// UI, when set, is served at /ui/ (and / leads there); Status feeds its status page.
	UI     UI
	Status Status
	// PeerTLS, when set, is how peer instances are reached: over TLS, trusting what it
	// trusts (plain HTTP when nil).
	PeerTLS *tls.Config
}

// Server is the HTTP face of sparkgate.
type Server struct {
	cfg      Config
	metrics  *metrics.Metrics
	batches  *batch.Manager
	sessions *interactive.Manager
	log      *slog.Logger
	mux      *http.ServeMux
	version  livy.Version
	peers    *peers
	edge     *edge
	inflight *inflight
}

// New returns the API handler.
func New(cfg Config, batches *batch.Manager, sessions *interactive.Manager, m *metrics.Metrics, log *slog.Logger) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if cfg.Redaction == nil {
		cfg.Redaction = regexp.MustCompile(livy.DefaultRedactionRegex)
	}
	if cfg.Guard == nil {
		cfg.Guard = auth.NewGuard(auth.None{}, nil, log)
	}
	if cfg.Access == nil {
		cfg.Access = access.New(access.Config{})
	}
	s := &Server{cfg: cfg, batches: batches, sessions: sessions, metrics: m, log: log, mux: http.NewServeMux(), peers: newPeers(cfg.PeerTLS), edge: newEdge(cfg),
		inflight: newInflight(cfg.MaxRequestsPerUser)}
	vi := version.Get()
	s.version = livy.Version{Version: livy.APIVersion, Revision: vi.Revision, Date: vi.Date,
		URL: "https://github.com/sparkgate/sparkgate", Branch: "main", SparkgateVersion: vi.Version}
	// Livy's "user" is who built it; the OS user this server runs as is nobody's business
	s.routes()
	return s
}

// reply is what a handler answers: a status, a body to encode, and extra headers.
type reply struct {
	status int
	body   any
	header http.Header
}

func ok(body any) (*reply, error) { return &reply{status: http.StatusOK, body: body}, nil }

type handler func(r *http.Request) (*reply, error)

// handle serves pattern, whose body (if any) is JSON, with h.
func (s *Server) handle(pattern string, h handler) {
	s.handleLimited(pattern, s.cfg.MaxBodyBytes, requireJSON(h))
}

// handleLimited serves pattern with h, refusing bodies over maxBody bytes with 413.
func (s *Server) handleLimited(pattern string, maxBody int64, h handler) {
	requests := map[int]prometheus.Counter{}
	var duration prometheus.Observer
	if s.metrics != nil {
		for _, code := range []int{200, 201, 204, 400, 403, 404, 409, 413, 422, 500, 501, 503} {
			requests[code] = s.metrics.Requests.WithLabelValues(pattern, strconv.Itoa(code))
		}
		duration = s.metrics.RequestDuration.WithLabelValues(pattern)
	}
	upload := maxBody > s.cfg.MaxBodyBytes
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		setDeadlines(w, pattern, upload)
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		status := 0
		var rep *reply
		var err error
		if s.cfg.CSRFProtection && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get("X-Requested-By") == "" &&
			!strings.HasPrefix(r.URL.Path, driverPrefix) { // a driver is no browser: its secret header is its proof
			err = errkind.Invalidf("Missing Required Header for CSRF protection: X-Requested-By")
		} else {
			rep, err = h(r)
		}
		if err != nil {
			status = s.writeError(w, r, err)
		} else {
			for k, v := range rep.header {
				w.Header()[k] = v
			}
			status = rep.status
			writeJSON(w, rep.status, rep.body)
		}
		if duration != nil {
			duration.Observe(time.Since(start).Seconds())
			if c, ok := requests[status]; ok {
				c.Inc()
			} else {
				s.metrics.Requests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
			}
		}
	}))
}

func (s *Server) routes() {
	s.handle("GET /version", func(*http.Request) (*reply, error) { return ok(s.version) })
	s.serveOpenAPI()
	if s.metrics != nil && !s.cfg.MetricsElsewhere {
		s.mux.Handle("GET /metrics", s.metrics.Handler())
	}
	for _, p := range []string{"/batches", "/batches/{$}"} {
		s.handle("GET "+p, s.listBatches)
	}
	s.batchCreates().register(s)
	s.handle("GET /batches/{ref}", s.getBatch)
	s.handle("GET /batches/{ref}/state", s.getBatchState)
	s.handle("GET /batches/{ref}/log", s.getBatchLog)
	s.handle("DELETE /batches/{ref}", s.deleteBatch)
	s.sessionRoutes()
	s.uiRoutes()
}

// driverPrefix starts the paths of the drivers' channel, which authenticate with their
// session's secret (interactive.SecretHeader), never with a user's credentials.
const driverPrefix = "/driver/"

// ServeHTTP checks the request at the edge, authenticates it (but a driver's) and routes it;
// unknown routes and wrong methods answer in Livy's JSON shape.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
			writeJSON(w, http.StatusInternalServerError, livy.Message{Msg: "internal server error"})
		}
	}()
	securityHeaders(w.Header(), r)
	if s.serveHealth(w, r) {
		return
	}
	if headerBytes(r) > maxHeaderBytes {
		writeJSON(w, http.StatusRequestHeaderFieldsTooLarge, livy.Message{Msg: fmt.Sprintf("the request's headers are larger than %d bytes", maxHeaderBytes)})
		return
	}
	if err := s.edge.check(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !strings.HasPrefix(r.URL.Path, driverPrefix) {
		id, err := s.cfg.Guard.Check(w.Header(), r)
		if err == nil {
			err = s.cfg.Access.Use(id)
		}
		var release func()
		if err == nil {
			release, err = s.inflight.acquire(r, id)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		defer release()
		r = r.WithContext(auth.WithIdentity(r.Context(), id))
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		// Let the mux decide between 404 and 405 (it knows the allowed methods), then answer
		// with a JSON body instead of its text one.
		rec := &statusRecorder{header: http.Header{}}
		s.mux.ServeHTTP(rec, r)
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		msg := fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)
		if rec.status == http.StatusMethodNotAllowed {
			msg = fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)
		}
		writeJSON(w, rec.status, livy.Message{Msg: msg})
		return
	}
	s.mux.ServeHTTP(w, r)
}

// securityHeaders are on every answer: no content sniffing, no framing, no caching of an API
// answer; and over TLS, HSTS (a year), so a browser that came once never falls back to plain
// HTTP.
func securityHeaders(h http.Header, r *http.Request) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.status = code }

func writeJSON(w http.ResponseWriter, status int, body any) {
	if status == http.StatusNoContent || body == nil {
		w.WriteHeader(status) // Livy's bare Ok() of add-jar and friends: no body
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"msg":"internal server error: cannot encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError is the one place where an error becomes an HTTP status; it returns the status.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	var status int
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		status = http.StatusRequestEntityTooLarge
		err = errkind.Wrap(errkind.TooLarge, err, "request body is larger than %d bytes", mbe.Limit)
	case errkind.Of(err) != errkind.Internal:
		status = map[errkind.Kind]int{
			errkind.Invalid: http.StatusBadRequest, errkind.NotFound: http.StatusNotFound,
			errkind.Forbidden: http.StatusForbidden, errkind.Conflict: http.StatusConflict,
			errkind.Unprocessable: http.StatusUnprocessableEntity, errkind.TooLarge: http.StatusRequestEntityTooLarge,
			errkind.Unavailable: http.StatusServiceUnavailable, errkind.NotImplemented: http.StatusNotImplemented,
			errkind.Unauthenticated: http.StatusUnauthorized, errkind.TooManyRequests: http.StatusTooManyRequests,
			errkind.UnsupportedMediaType: http.StatusUnsupportedMediaType,
		}[errkind.Of(err)]
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		status = http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return 499 // the client went away; nobody reads an answer
	default:
		status = http.StatusInternalServerError
	}
	msg := err.Error()
	switch status {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
		if !errors.Is(err, errDraining) {
			s.log.Warn("request failed: dependency unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
			msg = "service temporarily unavailable; retry"
		}
	case http.StatusInternalServerError:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal server error"
	}
	writeJSON(w, status, livy.Message{Msg: msg})
	return status
}

var negativeInt = regexp.MustCompile(`^-[0-9]+$`)

// parseRef reads a session reference: a non-negative integer id, or else a name.
func parseRef(ref string) (id int64, name string, err error) {
	if ref == "" {
		return 0, "", errkind.Invalidf("missing session id")
	}
	if negativeInt.MatchString(ref) {
		return 0, "", errkind.Invalidf("invalid session id %s: ids are non-negative integers", ref)
	}
	if ref[0] >= '0' && ref[0] <= '9' {
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return 0, "", errkind.Invalidf("invalid session id %s: too large", ref)
			}
			return 0, ref, nil // e.g. "2024-report": a name
		}
		return id, "", nil
	}
	return 0, ref, nil
}

// queryInt reads an integer query parameter. A negative one is Livy's too: a from of -1 is a
// log's tail, a size of -1 every item (see livyPaging).
func queryInt(r *http.Request, key string) (int, bool, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false, errkind.Invalidf("%s must be an integer, not %q", key, v)
	}
	return n, true, nil
}

// resolve finds the session a request's {ref} names (by id or name) among those of from, and
// checks that the caller may do to it what the request does: view it with GET, modify it
// with any other method. Every route about one session goes through here.
func (s *Server) resolve(r *http.Request, from records.Reader) (*store.Session, error) {
	ref := r.PathValue("ref")
	id, name, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	sess, err := from.Get(r.Context(), id, name)
	if err != nil {
		return nil, notFound(ref, err)
	}
	right := access.Modify
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		right = access.View
	}
	if err := s.cfg.Access.Check(auth.From(r.Context()), right, accessOf(sess)); err != nil {
		return nil, err
	}
	return sess, nil
}

func notFound(ref string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errkind.Wrap(errkind.NotFound, err, "Session '%s' not found.", ref)
	}
	return err
}
