// Package periodic owns the one loop shape the managers' background work shares: do
// something at an interval until the owner's context ends or the work says it is done.
package periodic

import (
	"context"
	"time"
)

// Every calls f every interval until ctx ends or f returns false.
func Every(ctx context.Context, interval time.Duration, f func() bool) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !f() {
			return
		}
	}
}
