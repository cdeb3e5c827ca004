package api

import (
	"net/http"
	"strconv"

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

func (s *Server) createBatch(r *http.Request) (*reply, error) {
	var req livy.CreateBatchRequest
	if err := livy.Decode(r.Body, &req); err != nil {
		return nil, err
	}
	sess, err := s.batches.Create(r.Context(), &req)
	if err != nil {
		return nil, err
	}
	return &reply{status: http.StatusCreated, body: s.batchView(sess),
		header: http.Header{"Location": {"/batches/" + strconv.FormatInt(sess.ID, 10)}}}, nil
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

// getBatchLog pages the whole log as Livy does: size defaults to 100, and without from the
// page is the log's tail.
func (s *Server) getBatchLog(r *http.Request) (*reply, error) {
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
	sess, err := s.lookupBatch(r)
	if err != nil {
		return nil, err
	}
	if !fromGiven {
		_, total, err := s.batches.Log(sess, 0, 0)
		if err != nil {
			return nil, err
		}
		from = max(0, total-size)
	}
	lines, total, err := s.batches.Log(sess, from, size)
	if err != nil {
		return nil, err
	}
	return ok(&livy.Log{ID: sess.ID, From: from, Total: total, Log: lines})
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
