// Package lifecycle gives a service the one shape of its background work: a context that
// lives from Start until Stop (not as long as the caller's), goroutines started through Go, and
// a Stop that ends the context and waits for every one of them.
package lifecycle

import (
	"context"
	"sync"
)

// Group owns a service's goroutines. The zero value is ready; Start it before Go.
type Group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start begins the group's life and returns its context, which ends at Stop. Values of parent
// (loggers, trace ids) carry over; its cancellation does not.
func (g *Group) Start(parent context.Context) context.Context {
	g.ctx, g.cancel = context.WithCancel(context.WithoutCancel(parent))
	return g.ctx
}

// Context is the group's context (nil before Start).
func (g *Group) Context() context.Context { return g.ctx }

// Go runs f in a goroutine that Stop waits for; f should return once the context ends.
func (g *Group) Go(f func()) { g.wg.Go(f) }

// Stop ends the context and waits for the goroutines. A group never started stops at once.
func (g *Group) Stop() {
	if g.cancel != nil {
		g.cancel()
	}
	g.wg.Wait()
}
