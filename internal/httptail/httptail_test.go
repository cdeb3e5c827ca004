package httptail

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

// Whatever a server sends, the tail holds its last limit bytes, and says whether that is all.
func TestLastKeepsTheEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		limit int
		want  string
		whole bool
	}{
		{"shorter than the bound", "abc\n", 10, "abc\n", true},
		{"the bound exactly", "abcd", 4, "abcd", true},
		{"one byte more", "abcde", 4, "bcde", false},
		{"many times the bound", strings.Repeat("x", 1000) + "the end", 7, "the end", false},
		{"empty", "", 5, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, whole, err := last(iotest.HalfReader(strings.NewReader(tc.body)), tc.limit)
			if err != nil || string(got) != tc.want || whole != tc.whole {
				t.Errorf("last(%d) = %q, %v, %v; want %q, %v", tc.limit, got, whole, err, tc.want, tc.whole)
			}
		})
	}
	if _, _, err := last(iotest.ErrReader(io.ErrUnexpectedEOF), 5); err == nil {
		t.Error("a broken body reads without error")
	}
}

// A server that ignores the bound and sends 64 MiB costs a reader of 1 MiB at most twice that.
func TestGetHoldsTheBoundOfAServerThatIgnoresIt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line := bytes.Repeat([]byte("y"), 1<<20)
		for range 64 {
			w.Write(line)
		}
		w.Write([]byte("end\n"))
	}))
	defer srv.Close()
	tail, whole, err := Get(context.Background(), srv.Client(), srv.URL, 1<<20)
	if err != nil || whole || len(tail) != 1<<20 || !bytes.HasSuffix(tail, []byte("yend\n")) || cap(tail) > 2<<20+64<<10 {
		t.Errorf("Get = %d bytes (cap %d), whole %v, %v", len(tail), cap(tail), whole, err)
	}
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	if _, _, err := Get(context.Background(), missing.Client(), missing.URL, 10); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a 404: %v", err)
	}
}
