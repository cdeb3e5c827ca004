package periodic

import (
	"context"
	"testing"
	"time"
)

func TestEveryStopsWhenTheWorkIsDoneOrTheContextEnds(t *testing.T) {
	calls := 0
	Every(context.Background(), time.Millisecond, func() bool { calls++; return calls < 3 })
	if calls != 3 {
		t.Errorf("f was called %d times, want 3 (it said stop on the third)", calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Every(ctx, time.Millisecond, func() bool { t.Error("f called after the context ended"); return true })
}
