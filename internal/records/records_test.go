package records

import (
	"context"
	"fmt"
	"testing"
	"time"

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
