package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
)

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
