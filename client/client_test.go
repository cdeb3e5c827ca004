package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

var fast = WithRetry(Retry{Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxElapsed: 5 * time.Second})

// A create survives lost connections and 5xx: the same requestId is sent every time.
func TestCreateBatchRetriesWithOneRequestID(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Header.Get("requestId"))
		n := len(ids)
		mu.Unlock()
		if r.Method != http.MethodPut || r.URL.Path != "/batches" {
			t.Errorf("got %s %s, want PUT /batches", r.Method, r.URL.Path)
		}
		switch n {
		case 1: // the connection dies before an answer
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"msg":"busy"}`))
		default:
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"id":7,"state":"running","log":[]}`))
		}
	}))
	defer srv.Close()
	c := New(srv.URL, fast)
	b, err := c.CreateBatch(context.Background(), &CreateBatchRequest{File: "/x.py"})
	if err != nil || b.ID != 7 {
		t.Fatalf("CreateBatch = %+v, %v", b, err)
	}
	if len(ids) != 3 || ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("requestIds sent: %q, want one GUID three times", ids)
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte(`{"msg":"requestId reused"}`))
	}))
	defer srv.Close()
	_, err := New(srv.URL, fast).CreateBatch(context.Background(), &CreateBatchRequest{File: "/x.py"})
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 422 || apiErr.Msg != "requestId reused" || calls != 1 {
		t.Fatalf("err = %v after %d calls, want one 422", err, calls)
	}
}

func TestPlainPOSTIsNeverRetried(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	if _, err := New(srv.URL, fast).CreateBatchPOST(context.Background(), &CreateBatchRequest{File: "/x.py"}); err == nil || calls != 1 {
		t.Fatalf("err = %v after %d calls; a POST create must not be retried", err, calls)
	}
}

func TestRetryStopsWithTheContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := New(srv.URL, fast).Batch(ctx, 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

// A statement survives lost connections and 5xx: every try is the PUT of one requestId, so
// the server runs the code once.
func TestRunRetriesWithOneRequestID(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/sessions/3/statements/5" {
			w.Write([]byte(`{"id":5,"code":"1","state":"available","output":{"status":"ok"}}`))
			return
		}
		if r.Method != http.MethodPut || r.URL.Path != "/sessions/3/statements" {
			t.Errorf("got %s %s, want PUT /sessions/3/statements", r.Method, r.URL.Path)
		}
		mu.Lock()
		ids = append(ids, r.Header.Get("requestId"))
		n := len(ids)
		mu.Unlock()
		switch n {
		case 1: // the connection dies before an answer
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"id":5,"code":"1","state":"waiting"}`))
		}
	}))
	defer srv.Close()
	st, err := New(srv.URL, fast).Run(context.Background(), 3, "1", "", time.Millisecond)
	if err != nil || st.ID != 5 || st.State != "available" {
		t.Fatalf("Run = %+v, %v", st, err)
	}
	if len(ids) != 3 || ids[0] == "" || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("requestIds sent: %q, want one GUID three times", ids)
	}
}
