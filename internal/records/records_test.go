package records

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

// A user who views only some sessions pages through those alone, and is told how many.
func TestListVisiblePagesAmongTheVisible(t *testing.T) {
	st := storetest.Embedded(t)
	ctx := context.Background()
	for i := range 7 {
		owner := "bob"
		if i%2 == 0 {
			owner = "alice"
		}
		if _, err := st.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting, Owner: owner,
			Tag: fmt.Sprintf("t%d-{id}", i), Request: []byte(`{}`), Supervisor: "test", Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	r := Reader{Kind: store.KindBatch, Store: st}
	alices := func(s *store.Session) bool { return s.Owner == "alice" }
	cases := []struct {
		from, size int
		ids        []int64
	}{
		{0, 100, []int64{0, 2, 4, 6}},
		{1, 2, []int64{2, 4}},
		{3, 5, []int64{6}},
		{4, 5, nil},
	}
	for _, c := range cases {
		page, err := r.ListVisible(ctx, c.from, c.size, alices)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, s := range page.Sessions {
			ids = append(ids, s.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(c.ids) || page.Total != 4 {
			t.Errorf("from %d size %d: ids %v total %d; want %v total 4", c.from, c.size, ids, page.Total, c.ids)
		}
	}
}

// The views of a list show the last lines of each log without indexing any: a list of many
// sessions with long logs costs the server no index (issue 18).
func TestLogTailIndexesNothing(t *testing.T) {
	dir := t.TempDir()
	logs := logfile.New()
	r := Reader{Kind: store.KindBatch, Logs: logs, LogPath: func(tag string) string { return filepath.Join(dir, tag+".log") }}
	for i := range 50 {
		tag := fmt.Sprintf("batch-%d", i)
		if err := os.WriteFile(r.LogPath(tag), []byte(strings.Repeat("a line\n", 10000)+"last\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		tail, err := r.LogTail(&store.Session{Tag: tag, State: store.StateSuccess}, 2)
		if err != nil || !slices.Equal(tail, []string{"a line", "last"}) {
			t.Fatalf("LogTail = %q, %v", tail, err)
		}
	}
	if files, bytes := logs.Cached(); files != 0 {
		t.Errorf("after the tails of 50 logs the index holds %d files (%d bytes), want none", files, bytes)
	}
	// a page still indexes its log, and only it
	if lines, total, err := r.Log(&store.Session{Tag: "batch-7"}, 10000, 5); err != nil || total != 10001 || !slices.Equal(lines, []string{"last"}) {
		t.Errorf("Log = %q, %d, %v", lines, total, err)
	}
	if files, _ := logs.Cached(); files != 1 {
		t.Errorf("after a page of one log the index holds %d files, want 1", files)
	}
}
