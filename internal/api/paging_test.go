package api

import (
	"net/http/httptest"
	"testing"

	"github.com/sparkgate/sparkgate/internal/livy"
)

// A log page is Livy's (SessionServlet.serializeLogs): a negative size is every line from
// from, an absent or negative from the tail; then the page holds at most maxPageSize lines.
func TestLogPageAsLivy(t *testing.T) {
	cases := []struct {
		query             string
		total             int
		wantFrom, wantLen int
	}{
		{"", 250, 150, 100},
		{"?size=10", 250, 240, 10},
		{"?from=5&size=10", 250, 5, 10},
		{"?size=-1", 250, 0, 250},
		{"?from=-1", 250, 150, 100},
		{"?from=-1&size=10", 250, 240, 10},
		{"?from=-7&size=-3", 250, 0, 250},
		{"?from=200&size=-1", 250, 200, 50},
		{"?size=-1", 25000, 0, maxPageSize},
		{"?from=20000&size=-1", 25000, 20000, 5000},
		{"?from=-1&size=20000", 25000, 5000, maxPageSize},
		{"?size=-1", 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			read := func(from, size int) ([]string, int, error) {
				n := max(0, min(size, c.total-from))
				return make([]string, n), c.total, nil
			}
			r := httptest.NewRequest("GET", "/batches/0/log"+c.query, nil)
			rep, err := logPage(r, func() (int64, logReader, error) { return 0, read, nil })
			if err != nil {
				t.Fatalf("GET log%s: %v", c.query, err)
			}
			page := rep.body.(*livy.Log)
			if page.From != c.wantFrom || len(page.Log) != c.wantLen || page.Total != c.total {
				t.Errorf("GET log%s of %d lines = from %d, %d lines, total %d; want from %d, %d lines",
					c.query, c.total, page.From, len(page.Log), page.Total, c.wantFrom, c.wantLen)
			}
		})
	}
}

// A list's page: Livy's slice clamps a negative from to the start; a negative size is every
// session (Livy's slice would be empty, which no client asks for), within maxPageSize.
func TestListPageParams(t *testing.T) {
	cases := []struct {
		query              string
		wantFrom, wantSize int
	}{
		{"", 0, defaultPageSize},
		{"?from=3&size=7", 3, 7},
		{"?size=-1", 0, maxPageSize},
		{"?from=-1", 0, defaultPageSize},
		{"?from=-1&size=-1", 0, maxPageSize},
		{"?size=99999", 0, maxPageSize},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			from, size, err := pageParams(httptest.NewRequest("GET", "/batches"+c.query, nil))
			if err != nil || from != c.wantFrom || size != c.wantSize {
				t.Errorf("pageParams(%s) = %d, %d, %v; want %d, %d", c.query, from, size, err, c.wantFrom, c.wantSize)
			}
		})
	}
	for _, bad := range []string{"?size=ten", "?from=1e3", "?size=99999999999999999999"} {
		if _, _, err := pageParams(httptest.NewRequest("GET", "/batches"+bad, nil)); err == nil {
			t.Errorf("pageParams(%s) took it", bad)
		}
	}
}
