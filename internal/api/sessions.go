package api

import (
	"net/http"

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
	s.handle("GET /sessions/{ref}", s.withSession(s.getSession))
	s.handle("GET /sessions/{ref}/state", s.withSession(s.getSessionState))
	s.handle("GET /sessions/{ref}/log", s.getSessionLog) // paging is checked before the session
	s.handle("DELETE /sessions/{ref}", s.withSession(s.deleteSession))
	s.handle("POST /sessions/{ref}/statements", s.withSession(s.createStatement))
	s.handle("PUT /sessions/{ref}/statements", s.withSession(s.putStatement))
	s.handle("GET /sessions/{ref}/statements", s.withSession(s.listStatements))
	s.handle("GET /sessions/{ref}/statements/{sid}", s.withSession(s.getStatement))
	s.handle("POST /sessions/{ref}/statements/{sid}/cancel", s.withSession(s.cancelStatement))
	s.handle("POST /sessions/{ref}/completion", s.withSession(s.toDriver(s.completion)))
	s.handle("POST /sessions/{ref}/connect", s.withSession(s.connectSession))
	for route, op := range map[string]string{"add-jar": interactive.OpAddJar, "add-pyfile": interactive.OpAddPyFile, "add-file": interactive.OpAddFile} {
		s.handle("POST /sessions/{ref}/"+route, s.withSession(s.toDriver(s.addResource(op))))
	}
	for route, upload := range map[string]struct{ field, op string }{
		"upload-jar": {"jar", interactive.OpAddJar}, "upload-pyfile": {"file", interactive.OpAddPyFile}, "upload-file": {"file", interactive.OpAddFile}} {
		s.handleLimited("POST /sessions/{ref}/"+route, s.cfg.MaxUploadBytes, s.withSession(s.toDriver(s.uploadResource(upload.field, upload.op))))
	}
	for _, job := range []string{"submit-job", "run-job", "jobs/{jid}/cancel"} {
		s.handle("POST /sessions/{ref}/"+job, notImplemented)
	}
	s.handle("GET /sessions/{ref}/jobs/{jid}", notImplemented)
	// The driver's channel, authenticated by the session's secret.
	s.handle(interactive.RouteReady, s.asDriver(s.driverReady))
	s.handle(interactive.RouteNext, s.asDriver(s.driverNext))
	// a result carries an output of up to MaxOutputBytes, and its envelope
	s.handleLimited(interactive.RouteResult, max(s.cfg.MaxBodyBytes, s.cfg.MaxOutputBytes+64<<10), requireJSON(s.asDriver(s.driverResult)))
	s.handle(interactive.RouteAnswer, s.asDriver(s.driverAnswer))
	s.mux.HandleFunc(interactive.RouteFile, s.driverFile)
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
	conf := livy.Redact(req.Conf, s.cfg.Redaction) // a view is no place for a secret
	return &livy.Session{
		ID: sess.ID, Name: livy.Optional(sess.Name), AppID: livy.Optional(sess.AppID), Owner: livy.Optional(sess.Owner),
		ProxyUser: livy.Optional(sess.ProxyUser), State: string(sess.State), Kind: kind,
		AppInfo: livy.AppInfo{DriverLogURL: livy.Optional(sess.AppInfo.DriverLogURL), SparkUIURL: livy.Optional(sess.AppInfo.SparkUIURL),
			ExecutorLogURLs: livy.Optional(sess.AppInfo.ExecutorLogURLs)},
		Log: lines, TTL: req.TTL, IdleTimeout: req.IdleTimeout, DriverMemory: req.DriverMemory, DriverCores: req.DriverCores,
		ExecutorMemory: req.ExecutorMemory, ExecutorCores: req.ExecutorCores, Conf: conf, Archives: orEmpty(req.Archives),
		Files: orEmpty(req.Files), HeartbeatTimeoutInSecond: heartbeat, Jars: orEmpty(req.Jars), NumExecutors: req.NumExecutors,
		PyFiles: orEmpty(req.PyFiles), Queue: req.Queue, CreatedAt: createdAt(sess),
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
	page, err := s.list(r, s.sessions.Reader, from, size)
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
		create:    s.sessions.Create,
		reserve:   s.sessions.ReserveID,
		view:      func(sess *store.Session) any { return s.sessionView(sess) },
		proxyUser: func(req *livy.CreateInteractiveRequest) **string { return &req.ProxyUser },
		policy:    s.cfg.Access,
	}
}

// sessionHandler serves a request about one interactive session, resolved once for it.
type sessionHandler func(r *http.Request, sess *store.Session) (*reply, error)

// withSession resolves the session a request names (by id or name) once, and serves h with
// it, through the heartbeat.
func (s *Server) withSession(h sessionHandler) handler {
	h = s.heartbeat(h)
	return func(r *http.Request) (*reply, error) {
		sess, err := s.resolveSession(r)
		if err != nil {
			return nil, err
		}
		return h(r, sess)
	}
}

// heartbeat records that a client asked for the session, for Livy's heartbeatTimeoutInSecond.
func (s *Server) heartbeat(h sessionHandler) sessionHandler {
	return func(r *http.Request, sess *store.Session) (*reply, error) {
		s.sessions.Heartbeat(r.Context(), sess)
		return h(r, sess)
	}
}

func (s *Server) resolveSession(r *http.Request) (*store.Session, error) {
	return s.resolve(r, s.sessions.Reader)
}

func (s *Server) getSession(r *http.Request, sess *store.Session) (*reply, error) {
	return ok(s.sessionView(sess))
}

func (s *Server) getSessionState(r *http.Request, sess *store.Session) (*reply, error) {
	return ok(&livy.State{ID: sess.ID, State: string(sess.State)})
}

func (s *Server) getSessionLog(r *http.Request) (*reply, error) {
	return logPage(r, func() (int64, logReader, error) {
		sess, err := s.resolveSession(r)
		if err != nil {
			return 0, nil, err
		}
		s.sessions.Heartbeat(r.Context(), sess)
		return sess.ID, func(from, size int) ([]string, int, error) { return s.sessions.Log(sess, from, size) }, nil
	})
}

func (s *Server) deleteSession(r *http.Request, sess *store.Session) (*reply, error) {
	if err := s.sessions.Delete(r.Context(), sess.ID); err != nil {
		return nil, notFound(r.PathValue("ref"), err)
	}
	return ok(livy.Message{Msg: "deleted"})
}

// connectSession is Livy's "connect" of its Java client: a GET that counts as activity.
func (s *Server) connectSession(r *http.Request, sess *store.Session) (*reply, error) {
	if err := s.sessions.Touch(r.Context(), sess.ID); err != nil {
		return nil, err
	}
	return ok(s.sessionView(sess))
}
