package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
)

func (s *Server) createStatement(r *http.Request, sess *store.Session) (*reply, error) {
	return s.addStatement(r, sess, false)
}

// putStatement is LIVY-782's PUT with a requestId, for statements: a POST whose key is required.
func (s *Server) putStatement(r *http.Request, sess *store.Session) (*reply, error) {
	return s.addStatement(r, sess, true)
}

// addStatement answers 201 for a new statement and 200 for a replay of a keyed one.
func (s *Server) addStatement(r *http.Request, sess *store.Session, keyRequired bool) (*reply, error) {
	key, err := statementKey(r, keyRequired)
	if err != nil {
		return nil, err
	}
	var req livy.CreateStatementRequest
	if err := livy.Decode(r.Body, &req); err != nil {
		return nil, err
	}
	st, err := s.sessions.AddStatementOnce(r.Context(), sess, &req, key)
	if err != nil {
		return nil, err
	}
	rep := &reply{status: http.StatusCreated, body: statementView(st), header: http.Header{"Location": {
		"/sessions/" + strconv.FormatInt(sess.ID, 10) + "/statements/" + strconv.FormatInt(st.ID, 10)}}}
	if st.Replayed {
		rep.status = http.StatusOK
		rep.header.Set("Idempotent-Replayed", "true")
	}
	return rep, nil
}

// statementKey is a statement's idempotency key: the caller's requestId (or Idempotency-Key)
// header, as the creates read it, scoped to the authenticated user. Optional unless required;
// nil without one.
func statementKey(r *http.Request, required bool) (*store.IdempotencyKey, error) {
	if !required && r.Header.Get("requestId") == "" && r.Header.Get("Idempotency-Key") == "" {
		return nil, nil
	}
	rid, err := requestIDFrom(r.Header)
	if err != nil {
		return nil, err
	}
	return &store.IdempotencyKey{Scope: auth.From(r.Context()).User, Key: rid}, nil
}

// maxStatementPage is the most statements a page holds: each may carry an output of up to
// --max-statement-output-bytes. Livy's lists never hold more either: its driver keeps the
// last 100 statements (livy.rsc.retained-statements).
const maxStatementPage = 100

func (s *Server) listStatements(r *http.Request, sess *store.Session) (*reply, error) {
	from, _, err := queryInt(r, "from")
	if err != nil {
		return nil, err
	}
	size, given, err := queryInt(r, "size")
	if err != nil {
		return nil, err
	}
	if !given || size < 0 { // Livy's size=-1: every statement, a page at most
		size = maxStatementPage
	}
	from = max(from, 0) // Livy's slice clamps a negative from to the first
	order := strings.TrimSpace(r.URL.Query().Get("order"))
	page, err := s.sessions.Statements(r.Context(), &store.ListStatementsParams{SessionID: sess.ID,
		From: from, Size: min(size, maxStatementPage), Desc: strings.EqualFold(order, "desc")})
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

func (s *Server) getStatement(r *http.Request, sess *store.Session) (*reply, error) {
	sid, err := statementID(r)
	if err != nil {
		return nil, err
	}
	st, err := s.sessions.Statement(r.Context(), sess.ID, sid)
	if err != nil {
		return nil, err
	}
	return ok(statementView(st))
}

func (s *Server) cancelStatement(r *http.Request, sess *store.Session) (*reply, error) {
	sid, err := statementID(r)
	if err != nil {
		return nil, err
	}
	if err := s.sessions.Cancel(r.Context(), sess.ID, sid); err != nil {
		return nil, err
	}
	return ok(livy.Message{Msg: "canceled"})
}
