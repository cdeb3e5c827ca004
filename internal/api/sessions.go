package api

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/interactive"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
)

func (s *Server) sessionRoutes() {
	for _, p := range []string{"/sessions", "/sessions/{$}"} {
		s.handle("GET "+p, s.listSessions)
	}
	s.sessionCreates().register(s)
	s.handle("GET /sessions/{ref}", s.getSession)
	s.handle("GET /sessions/{ref}/state", s.getSessionState)
	s.handle("GET /sessions/{ref}/log", s.getSessionLog)
	s.handle("DELETE /sessions/{ref}", s.deleteSession)
	s.handle("POST /sessions/{ref}/statements", s.createStatement)
	s.handle("GET /sessions/{ref}/statements", s.listStatements)
	s.handle("GET /sessions/{ref}/statements/{sid}", s.getStatement)
	s.handle("POST /sessions/{ref}/statements/{sid}/cancel", s.cancelStatement)
	s.handle("POST /sessions/{ref}/completion", s.toDriver(s.completion))
	s.handle("POST /sessions/{ref}/connect", s.connectSession)
	for route, op := range map[string]string{"add-jar": "addJar", "add-pyfile": "addPyFile", "add-file": "addFile"} {
		s.handle("POST /sessions/{ref}/"+route, s.toDriver(s.addResource(op)))
	}
	for route, upload := range map[string]struct{ field, op string }{
		"upload-jar": {"jar", "addJar"}, "upload-pyfile": {"file", "addPyFile"}, "upload-file": {"file", "addFile"}} {
		s.handleLimited("POST /sessions/{ref}/"+route, s.cfg.MaxUploadBytes, s.toDriver(s.uploadResource(upload.field, upload.op)))
	}
	for _, job := range []string{"submit-job", "run-job", "jobs/{jid}/cancel"} {
		s.handle("POST /sessions/{ref}/"+job, notImplemented)
	}
	s.handle("GET /sessions/{ref}/jobs/{jid}", notImplemented)
	// The driver's channel, authenticated by the session's secret.
	s.handle("POST /driver/sessions/{ref}/ready", s.driverReady)
	s.handle("GET /driver/sessions/{ref}/next", s.driverNext)
	s.handle("POST /driver/sessions/{ref}/statements/{sid}", s.driverResult)
	s.handle("POST /driver/sessions/{ref}/calls/{cid}", s.driverAnswer)
}

func notImplemented(*http.Request) (*reply, error) {
	return nil, errkind.New(errkind.NotImplemented, "Livy's Java-serialized job API is not supported by sparkgate; send code as statements")
}

func (s *Server) sessionView(sess *store.Session) *livy.Session {
	req, kind := interactive.Request(sess)
	lines, err := s.sessions.LogTail(sess, livy.BatchViewLogLines)
	if err != nil {
		lines = []string{}
	}
	heartbeat := 0
	if req.HeartbeatTimeoutInSecond != nil {
		heartbeat = *req.HeartbeatTimeoutInSecond
	}
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	conf := req.Conf
	if conf == nil {
		conf = map[string]livy.String{}
	}
	return &livy.Session{
		ID: sess.ID, Name: livy.Optional(sess.Name), AppID: livy.Optional(sess.AppID), Owner: livy.Optional(sess.Owner),
		ProxyUser: livy.Optional(sess.ProxyUser), State: string(sess.State), Kind: kind,
		AppInfo: livy.AppInfo{DriverLogURL: livy.Optional(sess.AppInfo.DriverLogURL), SparkUIURL: livy.Optional(sess.AppInfo.SparkUIURL),
			ExecutorLogURLs: livy.Optional(sess.AppInfo.ExecutorLogURLs)},
		Log: lines, TTL: req.TTL, IdleTimeout: req.IdleTimeout, DriverMemory: req.DriverMemory, DriverCores: req.DriverCores,
		ExecutorMemory: req.ExecutorMemory, ExecutorCores: req.ExecutorCores, Conf: conf, Archives: orEmpty(req.Archives),
		Files: orEmpty(req.Files), HeartbeatTimeoutInSecond: heartbeat, Jars: orEmpty(req.Jars), NumExecutors: req.NumExecutors,
		PyFiles: orEmpty(req.PyFiles), Queue: req.Queue,
	}
}

func statementView(st *store.Statement) *livy.Statement {
	return &livy.Statement{ID: st.ID, Code: st.Code, State: string(st.State), Output: st.Output,
		Progress: st.Progress, Started: st.Started, Completed: st.Completed}
}

func (s *Server) listSessions(r *http.Request) (*reply, error) {
	from, size, err := pageParams(r)
	if err != nil {
		return nil, err
	}
	page, err := s.sessions.List(r.Context(), from, size)
	if err != nil {
		return nil, err
	}
	out := &livy.SessionList{From: from, Total: page.Total, Sessions: make([]*livy.Session, 0, len(page.Sessions))}
	for _, sess := range page.Sessions {
		out.Sessions = append(out.Sessions, s.sessionView(sess))
	}
	return ok(out)
}

// sessionCreates serves POST /sessions and LIVY-782's idempotent session creates.
func (s *Server) sessionCreates() createRoutes[livy.CreateInteractiveRequest] {
	return createRoutes[livy.CreateInteractiveRequest]{
		route: "/sessions",
		decode: func(r *http.Request) (*livy.CreateInteractiveRequest, *string, error) {
			var req struct {
				livy.CreateInteractiveRequest
				PutKey *string `json:"putKey"`
			}
			err := livy.Decode(r.Body, &req)
			return &req.CreateInteractiveRequest, req.PutKey, err
		},
		create:  s.sessions.Create,
		reserve: s.sessions.ReserveID,
		view:    func(sess *store.Session) any { return s.sessionView(sess) },
	}
}

func (s *Server) lookupSession(r *http.Request) (*store.Session, error) {
	ref := r.PathValue("ref")
	id, name, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	sess, err := s.sessions.Get(r.Context(), id, name)
	if err != nil {
		return nil, notFound(ref, err)
	}
	s.sessions.Heartbeat(r.Context(), sess)
	return sess, nil
}

func (s *Server) getSession(r *http.Request) (*reply, error) {
	sess, err := s.lookupSession(r)
	if err != nil {
		return nil, err
	}
	return ok(s.sessionView(sess))
}

func (s *Server) getSessionState(r *http.Request) (*reply, error) {
	sess, err := s.lookupSession(r)
	if err != nil {
		return nil, err
	}
	return ok(&livy.State{ID: sess.ID, State: string(sess.State)})
}

func (s *Server) getSessionLog(r *http.Request) (*reply, error) {
	return logPage(r, func() (int64, logReader, error) {
		sess, err := s.lookupSession(r)
		if err != nil {
			return 0, nil, err
		}
		return sess.ID, func(from, size int) ([]string, int, error) { return s.sessions.Log(sess, from, size) }, nil
	})
}

func (s *Server) deleteSession(r *http.Request) (*reply, error) {
	sess, err := s.lookupSession(r)
	if err != nil {
		return nil, err
	}
	if err := s.sessions.Delete(r.Context(), sess.ID); err != nil {
		return nil, notFound(r.PathValue("ref"), err)
	}
	return ok(livy.Message{Msg: "deleted"})
}

func (s *Server) createStatement(r *http.Request) (*reply, error) {
	sess, err := s.lookupSession(r)
	if err != nil {
		return nil, err
	}
	var req livy.CreateStatementRequest
	if err := livy.Decode(r.Body, &req); err != nil {
		return nil, err
	}
	st, err := s.sessions.AddStatement(r.Context(), sess.ID, &req)
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusCreated, body: statementView(st), header: http.Header{"Location": {
		"/sessions/" + strconv.FormatInt(sess.ID, 10) + "/statements/" + strconv.FormatInt(st.ID, 10)}}}, nil
}

func (s *Server) listStatements(r *http.Request) (*reply, error) {
	sess, err := s.lookupSession(r)
	if err != nil {
		return nil, err
	}
	from, _, err := queryInt(r, "from")
	if err != nil {
		return nil, err
	}
	size, given, err := queryInt(r, "size")
	if err != nil {
		return nil, err
	}
	if !given {
		size = maxPageSize // Livy lists every statement; this many at most
	}
	order := strings.TrimSpace(r.URL.Query().Get("order"))
	page, err := s.sessions.Statements(r.Context(), &store.ListStatementsParams{SessionID: sess.ID,
		From: from, Size: min(size, maxPageSize), Desc: strings.EqualFold(order, "desc")})
	if err != nil {
		return nil, err
	}
	out := &livy.StatementList{TotalStatements: page.Total, Statements: make([]*livy.Statement, 0, len(page.Statements))}
	for _, st := range page.Statements {
		out.Statements = append(out.Statements, statementView(st))
	}
	return ok(out)
}

func statementID(r *http.Request) (int64, error) {
	sid, err := strconv.ParseInt(r.PathValue("sid"), 10, 64)
	if err != nil || sid < 0 {
		return 0, errkind.Invalidf("invalid statement id %q", r.PathValue("sid"))
	}
	return sid, nil
}

// statementRef resolves the session and statement id a request names.
func (s *Server) statementRef(r *http.Request) (*store.Session, int64, error) {
	sess, err := s.lookupSession(r)
	if err != nil {
		return nil, 0, err
	}
	sid, err := statementID(r)
	return sess, sid, err
}

func (s *Server) getStatement(r *http.Request) (*reply, error) {
	sess, sid, err := s.statementRef(r)
	if err != nil {
		return nil, err
	}
	st, err := s.sessions.Statement(r.Context(), sess.ID, sid)
	if err != nil {
		return nil, err
	}
	return ok(statementView(st))
}

// forwardedHeader marks a request one instance forwarded to another: it is served where it
// lands, never forwarded again.
const forwardedHeader = "X-Sparkgate-Forwarded"

// toDriver serves a request that needs the session's driver at once (calls wait in the memory
// of one instance): here when the driver polls this instance, else forwarded to the live
// instance it polls.
func (s *Server) toDriver(h handler) handler {
	return func(r *http.Request) (*reply, error) {
		if r.Header.Get(forwardedHeader) == "" {
			sess, err := s.lookupSession(r)
			if err != nil {
				return nil, err
			}
			if addr := s.sessions.CallPeer(r.Context(), sess); addr != "" {
				return forward(r, addr)
			}
		}
		return h(r)
	}
}

// peerClient forwards requests to peer instances. A peer answers a call within its own call
// timeout (30 s); a peer that accepts the connection and then says nothing is given up on.
// No bound on the whole exchange: an upload's body may take long to stream.
var peerClient = &http.Client{Transport: &http.Transport{
	DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	ResponseHeaderTimeout: 45 * time.Second,
	IdleConnTimeout:       time.Minute,
}}

// forwardedResponseHeaders are the peer's answer's headers passed on to the client; the rest
// (framing, connection management) belong to each hop.
var forwardedResponseHeaders = []string{"Content-Type", "Location", "Retry-After", "Allow"}

func forward(r *http.Request, addr string) (*reply, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), r.Body)
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	req.Header.Set(forwardedHeader, "1")
	req.ContentLength = r.ContentLength
	resp, err := peerClient.Do(req)
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "the instance that serves this session's driver (%s) did not answer", addr)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, errkind.Wrap(errkind.Unavailable, err, "the instance that serves this session's driver (%s) did not answer", addr)
	}
	rep := &reply{status: resp.StatusCode, header: http.Header{}}
	for _, h := range forwardedResponseHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			rep.header[h] = v
		}
	}
	if len(b) > 0 {
		rep.body = json.RawMessage(b)
	}
	return rep, nil
}

func (s *Server) cancelStatement(r *http.Request) (*reply, error) {
	sess, sid, err := s.statementRef(r)
	if err != nil {
		return nil, err
	}
	if err := s.sessions.Cancel(r.Context(), sess.ID, sid); err != nil {
		return nil, err
	}
	return ok(livy.Message{Msg: "canceled"})
}

func (s *Server) completion(r *http.Request) (*reply, error) {
	sess, err := s.lookupSession(r)
	if err != nil {
		return nil, err
	}
	var req livy.CompletionRequest
	if err := livy.Decode(r.Body, &req); err != nil {
		return nil, err
	}
	candidates, err := s.sessions.Complete(r.Context(), sess, &req)
	if err != nil {
		return nil, err
	}
	return ok(map[string][]string{"candidates": candidates})
}

// connectSession is Livy's "connect" of its Java client: a GET that counts as activity.
func (s *Server) connectSession(r *http.Request) (*reply, error) {
	sess, err := s.lookupSession(r)
	if err != nil {
		return nil, err
	}
	if err := s.sessions.Touch(r.Context(), sess.ID); err != nil {
		return nil, err
	}
	return ok(s.sessionView(sess))
}

func (s *Server) addResource(op string) handler {
	return func(r *http.Request) (*reply, error) {
		sess, err := s.lookupSession(r)
		if err != nil {
			return nil, err
		}
		var req livy.AddResourceRequest
		if err := livy.Decode(r.Body, &req); err != nil {
			return nil, err
		}
		if req.URI == nil || strings.TrimSpace(*req.URI) == "" {
			return nil, errkind.Invalidf("uri is required")
		}
		if err := s.sessions.AddResource(r.Context(), sess.ID, op, *req.URI); err != nil {
			return nil, err
		}
		return &reply{status: http.StatusOK}, nil
	}
}

func (s *Server) uploadResource(field, op string) handler {
	return func(r *http.Request) (*reply, error) {
		sess, err := s.lookupSession(r)
		if err != nil {
			return nil, err
		}
		file, header, err := r.FormFile(field)
		if err != nil {
			if errors.As(err, new(*http.MaxBytesError)) {
				return nil, err
			}
			return nil, errkind.Invalidf("expected a multipart form with the file in field %q: %v", field, err)
		}
		defer file.Close()
		if err := s.sessions.Upload(r.Context(), sess.ID, op, header.Filename, file); err != nil {
			return nil, err
		}
		return &reply{status: http.StatusOK}, nil
	}
}

// driverSession authenticates a driver's request.
func (s *Server) driverSession(r *http.Request) (*store.Session, error) {
	id, err := strconv.ParseInt(r.PathValue("ref"), 10, 64)
	if err != nil {
		return nil, errkind.Invalidf("invalid session id")
	}
	sess, err := s.sessions.Authenticate(r.Context(), id, r.Header.Get("X-Sparkgate-Secret"))
	return sess, notFound(r.PathValue("ref"), err)
}

func (s *Server) driverReady(r *http.Request) (*reply, error) {
	sess, err := s.driverSession(r)
	if err != nil {
		return nil, err
	}
	var body struct {
		AppID string `json:"appId"`
	}
	if err := livy.Decode(r.Body, &body); err != nil {
		return nil, err
	}
	if err := s.sessions.Ready(r.Context(), sess, body.AppID); err != nil {
		return nil, err
	}
	return ok(livy.Message{Msg: "ok"})
}

func (s *Server) driverNext(r *http.Request) (*reply, error) {
	sess, err := s.driverSession(r)
	if err != nil {
		return nil, err
	}
	var poll interactive.Poll
	if v := r.URL.Query().Get("running"); v != "" {
		sid, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errkind.Invalidf("invalid running statement id %q", v)
		}
		poll.Running = &sid
	}
	poll.CancelSeen = r.URL.Query().Get("cancelSeen") == "1"
	msg, err := s.sessions.Next(r.Context(), sess, poll)
	if err != nil {
		return nil, err
	}
	if msg == nil {
		return &reply{status: http.StatusNoContent}, nil
	}
	return ok(msg)
}

func (s *Server) driverAnswer(r *http.Request) (*reply, error) {
	sess, err := s.driverSession(r)
	if err != nil {
		return nil, err
	}
	var answer interactive.CallAnswer
	if err := livy.Decode(r.Body, &answer); err != nil {
		return nil, err
	}
	if err := s.sessions.Answer(sess, r.PathValue("cid"), answer); err != nil {
		return nil, err
	}
	return ok(livy.Message{Msg: "ok"})
}

func (s *Server) driverResult(r *http.Request) (*reply, error) {
	sess, err := s.driverSession(r)
	if err != nil {
		return nil, err
	}
	sid, err := statementID(r)
	if err != nil {
		return nil, err
	}
	var body struct {
		Output   json.RawMessage `json:"output"`
		Progress *float64        `json:"progress"`
	}
	if err := livy.Decode(r.Body, &body); err != nil {
		return nil, err
	}
	if body.Progress != nil && len(body.Output) == 0 {
		if err := s.sessions.Progress(r.Context(), sess, sid, *body.Progress); err != nil {
			return nil, err
		}
		return ok(livy.Message{Msg: "ok"})
	}
	if len(body.Output) == 0 || strings.TrimSpace(string(body.Output)) == "null" {
		return nil, errkind.Invalidf("output is required")
	}
	if err := s.sessions.Result(r.Context(), sess, sid, body.Output); err != nil {
		return nil, err
	}
	return ok(livy.Message{Msg: "ok"})
}
