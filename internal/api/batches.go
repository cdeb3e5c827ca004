package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/sparkgate/sparkgate/internal/batch"
	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
)

// defaultPageSize is Livy's default size for session lists and log pages.
const defaultPageSize = 100

func (s *Server) batchView(sess *store.Session) *livy.Batch {
	lines, err := s.batches.LogTail(sess, livy.BatchViewLogLines)
	if err != nil {
		s.log.Warn("read batch log", "id", sess.ID, "err", err)
		lines = []string{}
	}
	return &livy.Batch{
		ID: sess.ID, Name: livy.Optional(sess.Name), Owner: livy.Optional(sess.Owner),
		ProxyUser: livy.Optional(sess.ProxyUser), State: string(sess.State), AppID: livy.Optional(sess.AppID),
		AppInfo: livy.AppInfo{
			DriverLogURL:    livy.Optional(sess.AppInfo.DriverLogURL),
			SparkUIURL:      livy.Optional(sess.AppInfo.SparkUIURL),
			ExecutorLogURLs: livy.Optional(sess.AppInfo.ExecutorLogURLs),
		},
		Log: lines,
	}
}

func (s *Server) listBatches(r *http.Request) (*reply, error) {
	from, _, err := queryInt(r, "from")
	if err != nil {
		return nil, err
	}
	size, given, err := queryInt(r, "size")
	if err != nil {
		return nil, err
	}
	if !given {
		size = defaultPageSize
	}
	page, err := s.batches.List(r.Context(), from, size)
	if err != nil {
		return nil, err
	}
	out := &livy.BatchList{From: from, Total: page.Total, Sessions: make([]*livy.Batch, 0, len(page.Sessions))}
	for _, sess := range page.Sessions {
		out.Sessions = append(out.Sessions, s.batchView(sess))
	}
	return ok(out)
}

// createRequest is a create body as the idempotent routes take it: LIVY-782 adds putKey to
// CreateBatchRequest for PUT /batches/{id}; every other create refuses it.
type createRequest struct {
	livy.CreateBatchRequest
	PutKey *string `json:"putKey"`
}

func decodeCreate(r *http.Request, wantPutKey bool) (*createRequest, error) {
	var req createRequest
	if err := livy.Decode(r.Body, &req); err != nil {
		return nil, err
	}
	return &req, checkPutKey(req.PutKey, wantPutKey, "/batches")
}

// checkPutKey enforces that putKey comes with PUT /{type}/{id} and only there.
func checkPutKey(putKey *string, want bool, route string) error {
	switch {
	case want && (putKey == nil || *putKey == ""):
		return errkind.Invalidf("PUT %s/{id} needs \"putKey\" in the body: the one POST %s/id returned with the id", route, route)
	case !want && putKey != nil:
		return errkind.Invalidf("putKey is only accepted by PUT %s/{id}, with an id reserved by POST %s/id", route, route)
	}
	return nil
}

// reservedID reads the {ref} of PUT /{type}/{id}: an id, not a name.
func reservedID(r *http.Request, route string) (int64, error) {
	ref := r.PathValue("ref")
	id, name, err := parseRef(ref)
	if err != nil {
		return 0, err
	}
	if name != "" {
		return 0, errkind.Invalidf("PUT %s/%s: the path must be an id reserved by POST %s/id", route, ref, route)
	}
	return id, nil
}

// createdReply answers a create: 201 for a new session, 200 for a replay, with its view.
func createdReply(created *store.Created, route string, view any) *reply {
	rep := &reply{status: http.StatusCreated, body: view,
		header: http.Header{"Location": {route + "/" + strconv.FormatInt(created.Session.ID, 10)}}}
	if created.Replayed {
		rep.status = http.StatusOK
		rep.header.Set("Idempotent-Replayed", "true")
	}
	return rep
}

// createBatch is Livy's POST /batches, unchanged.
func (s *Server) createBatch(r *http.Request) (*reply, error) {
	req, err := decodeCreate(r, false)
	if err != nil {
		return nil, err
	}
	return s.create(r, &req.CreateBatchRequest, batch.CreateOptions{})
}

// putBatch is LIVY-782's first proposal: PUT /batches with a requestId header.
func (s *Server) putBatch(r *http.Request) (*reply, error) {
	requestID, err := requestIDFrom(r.Header)
	if err != nil {
		return nil, err
	}
	req, err := decodeCreate(r, false)
	if err != nil {
		return nil, err
	}
	return s.create(r, &req.CreateBatchRequest, batch.CreateOptions{RequestID: requestID})
}

// reserveBatchID is LIVY-782's second proposal, first half: POST /batches/id.
func (s *Server) reserveBatchID(r *http.Request) (*reply, error) {
	id, putKey, err := s.batches.ReserveID(r.Context())
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusCreated, body: &livy.Reservation{SessionID: id, PutKey: putKey}}, nil
}

// putBatchID is the second half: PUT /batches/{id} with the reservation's putKey.
func (s *Server) putBatchID(r *http.Request) (*reply, error) {
	id, err := reservedID(r, "/batches")
	if err != nil {
		return nil, err
	}
	req, err := decodeCreate(r, true)
	if err != nil {
		return nil, err
	}
	return s.create(r, &req.CreateBatchRequest, batch.CreateOptions{ReservedID: &id, PutKey: *req.PutKey})
}

// create answers 201 for a new batch and 200 for a replay, with the batch's current view.
func (s *Server) create(r *http.Request, req *livy.CreateBatchRequest, opts batch.CreateOptions) (*reply, error) {
	created, err := s.batches.Create(r.Context(), req, opts)
	if err != nil {
		return nil, err
	}
	return createdReply(created, "/batches", s.batchView(created.Session)), nil
}

// requestIDFrom reads a PUT's idempotency key: LIVY-782's requestId header, or the IETF
// draft's Idempotency-Key as an alias. It must be a GUID; it is kept in lower case.
func requestIDFrom(h http.Header) (string, error) {
	const expect = "a GUID such as 0f8fad5b-d9cb-469f-a165-70867728950e, the same on every retry of one request"
	rid := strings.TrimSpace(h.Get("requestId"))
	// The IETF header is a structured-field string: it may come quoted.
	ik := strings.Trim(strings.TrimSpace(h.Get("Idempotency-Key")), `"`)
	if rid == "" && ik == "" {
		return "", errkind.Invalidf("an idempotent PUT needs a requestId header: %s (Idempotency-Key is accepted as an alias)", expect)
	}
	canon := func(header, v string) (string, error) {
		if v == "" {
			return "", nil
		}
		u, err := uuid.Parse(v)
		if err != nil || len(v) != 36 {
			return "", errkind.Invalidf("%s header %q is not a GUID: expected %s", header, v, expect)
		}
		return u.String(), nil
	}
	a, err := canon("requestId", rid)
	if err != nil {
		return "", err
	}
	b, err := canon("Idempotency-Key", ik)
	if err != nil {
		return "", err
	}
	if a != "" && b != "" && a != b {
		return "", errkind.Invalidf("requestId %s and Idempotency-Key %s differ: send one, or the same GUID in both", a, b)
	}
	return max(a, b), nil
}

func (s *Server) lookupBatch(r *http.Request) (*store.Session, error) {
	ref := r.PathValue("ref")
	id, name, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	sess, err := s.batches.Get(r.Context(), id, name)
	return sess, notFound(ref, err)
}

func (s *Server) getBatch(r *http.Request) (*reply, error) {
	sess, err := s.lookupBatch(r)
	if err != nil {
		return nil, err
	}
	return ok(s.batchView(sess))
}

func (s *Server) getBatchState(r *http.Request) (*reply, error) {
	sess, err := s.lookupBatch(r)
	if err != nil {
		return nil, err
	}
	return ok(&livy.State{ID: sess.ID, State: string(sess.State)})
}

// getBatchLog pages the whole log as Livy does.
func (s *Server) getBatchLog(r *http.Request) (*reply, error) {
	return logPage(r, func() (int64, logReader, error) {
		sess, err := s.lookupBatch(r)
		if err != nil {
			return 0, nil, err
		}
		return sess.ID, func(from, size int) ([]string, int, error) { return s.batches.Log(sess, from, size) }, nil
	})
}

// logReader reads lines [from, from+size) of a log and its number of lines.
type logReader func(from, size int) ([]string, int, error)

// logPage answers GET /{type}/{id}/log as Livy does: size defaults to 100, and without from
// the page is the log's tail. Paging parameters are checked before the session is looked up.
func logPage(r *http.Request, lookup func() (int64, logReader, error)) (*reply, error) {
	from, fromGiven, err := queryInt(r, "from")
	if err != nil {
		return nil, err
	}
	size, sizeGiven, err := queryInt(r, "size")
	if err != nil {
		return nil, err
	}
	if !sizeGiven {
		size = defaultPageSize
	}
	id, read, err := lookup()
	if err != nil {
		return nil, err
	}
	if !fromGiven {
		_, total, err := read(0, 0)
		if err != nil {
			return nil, err
		}
		from = max(0, total-size)
	}
	lines, total, err := read(from, size)
	if err != nil {
		return nil, err
	}
	return ok(&livy.Log{ID: id, From: from, Total: total, Log: lines})
}

func (s *Server) deleteBatch(r *http.Request) (*reply, error) {
	sess, err := s.lookupBatch(r)
	if err != nil {
		return nil, err
	}
	if err := s.batches.Delete(r.Context(), sess.ID); err != nil {
		return nil, notFound(r.PathValue("ref"), err)
	}
	return ok(livy.Message{Msg: "deleted"})
}
