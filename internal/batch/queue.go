package batch

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// launchQueue holds the ids of batches waiting for a launch slot, in arrival order, each once.
// It lives in memory only: the store's starting records are the durable queue, and recovery
// and the sweeper put them back after a restart.
type launchQueue struct {
	mu     sync.Mutex
	order  []int64
	queued map[int64]bool
	ready  chan struct{} // a token when the queue may be non-empty
	depth  prometheus.Gauge
}

func newLaunchQueue(depth prometheus.Gauge) *launchQueue {
	return &launchQueue{queued: map[int64]bool{}, ready: make(chan struct{}, 1), depth: depth}
}

// add queues id unless it is queued already.
func (q *launchQueue) add(id int64) {
	q.mu.Lock()
	if !q.queued[id] {
		q.queued[id] = true
		q.order = append(q.order, id)
	}
	q.depth.Set(float64(len(q.queued)))
	q.mu.Unlock()
	q.signal()
}

// len is how many batches wait.
func (q *launchQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queued)
}

// remove takes id out of the queue (a batch deleted while it waited).
func (q *launchQueue) remove(id int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.queued, id)
	q.depth.Set(float64(len(q.queued)))
}

// next waits for the oldest queued id; false once ctx ends. Each taker passes the token on,
// so that other takers wake while ids remain.
func (q *launchQueue) next(ctx context.Context) (int64, bool) {
	for {
		if id, ok := q.pop(); ok {
			q.signal()
			return id, true
		}
		select {
		case <-ctx.Done():
			return 0, false
		case <-q.ready:
		}
	}
}

func (q *launchQueue) pop() (int64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.order) > 0 {
		id := q.order[0]
		q.order = q.order[1:]
		if q.queued[id] {
			delete(q.queued, id)
			q.depth.Set(float64(len(q.queued)))
			return id, true
		}
	}
	return 0, false
}

func (q *launchQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}
