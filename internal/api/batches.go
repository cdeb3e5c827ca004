package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
)

// defaultPageSize is Livy's default size for session lists and log pages.
const defaultPageSize = 100

// maxPageSize caps a list's or a log page's size: a larger size is answered as the largest
// page, the way Livy answers a size past the end with what there is. With the log index's
// byte budget (logfile.MaxPageBytes) it bounds what one request can make the server hold.
const maxPageSize = 10000

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
		Log: lines, CreatedAt: createdAt(sess),
	}
}

func createdAt(sess *store.Session) string { return sess.CreatedAt.UTC().Format(time.RFC3339) }

// livyPaging reads from and size as Livy does: an absent or negative from is -1 (a log's tail,
// a list's start), an absent size is 100 and a negative one is -1 (every item). Clients send
// size=-1 for "all"; the page caps still apply (see pageParams and logPage).
func livyPaging(r *http.Request) (from, size int, err error) {
	from, given, err := queryInt(r, "from")
	if err != nil {
		return 0, 0, err
	}
	if !given || from < 0 {
		from = -1
	}
	size, given, err = queryInt(r, "size")
	if err != nil {
		return 0, 0, err
	}
	if !given {
		size = defaultPageSize
	}
	return from, max(size, -1), nil
}

// pageParams reads a list's from (default 0) and size (default 100, at most maxPageSize). A
// negative from is the start, as Livy's slice of its sessions clamps it; a negative size is
// every session, at most maxPageSize (Livy's slice would be empty, which no client means).
func pageParams(r *http.Request) (from, size int, err error) {
	from, size, err = livyPaging(r)
	if err != nil {
		return 0, 0, err
	}
	if size < 0 {
		size = maxPageSize
	}
	return max(from, 0), min(size, maxPageSize), nil
}

func (s *Server) listBatches(r *http.Request) (*reply, error) {
	from, size, err := pageParams(r)
	if err != nil {
		return nil, err
	}
	page, err := s.list(r, s.batches.Reader, from, size)
	if err != nil {
		return nil, err
	}
	out := &livy.BatchList{From: from, Total: page.Total, Sessions: make([]*livy.Batch, 0, len(page.Sessions))}
	for _, sess := range page.Sessions {
		out.Sessions = append(out.Sessions, s.batchView(sess))
	}
	return ok(out)
}

// batchCreates serves POST /batches and LIVY-782's idempotent batch creates.
func (s *Server) batchCreates() createRoutes[livy.CreateBatchRequest] {
	return createRoutes[livy.CreateBatchRequest]{
		route: "/batches",
		decode: func(r *http.Request) (*livy.CreateBatchRequest, *string, error) {
			// LIVY-782 adds putKey to the create body; only PUT /batches/{id} takes it.
			var req struct {
				livy.CreateBatchRequest
				PutKey *string `json:"putKey"`
			}
			err := livy.Decode(r.Body, &req)
			return &req.CreateBatchRequest, req.PutKey, err
		},
		create:    s.batches.Create,
		reserve:   s.batches.ReserveID,
		view:      func(sess *store.Session) any { return s.batchView(sess) },
		proxyUser: func(req *livy.CreateBatchRequest) **string { return &req.ProxyUser },
		policy:    s.cfg.Access,
	}
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
	return s.resolve(r, s.batches.Reader)
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

// logPage answers GET /{type}/{id}/log as Livy's serializeLogs does: size defaults to 100, a
// negative size is every line from from, and without from (or with a negative one) the page
// is the log's tail of that size; then the page holds at most maxPageSize lines (and
// logfile.MaxPageBytes). Paging parameters are checked before the session is looked up.
func logPage(r *http.Request, lookup func() (int64, logReader, error)) (*reply, error) {
	from, size, err := livyPaging(r)
	if err != nil {
		return nil, err
	}
	id, read, err := lookup()
	if err != nil {
		return nil, err
	}
	if from < 0 || size < 0 {
		_, total, err := read(0, 0)
		if err != nil {
			return nil, err
		}
		if size < 0 {
			size = total
		}
		if from < 0 {
			from = max(0, total-size)
		}
	}
	lines, total, err := read(from, min(size, maxPageSize))
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
