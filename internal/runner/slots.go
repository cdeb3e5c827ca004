package runner

import "context"

// Slots bound the applications in their launch phase (from spark-submit until a live
// SparkContext, or the launch timeout), whatever kind of session they serve. An instance has
// one set, shared by its managers, so that --max-concurrent-launches counts the JVMs starting
// on its host: a burst of notebooks and a burst of batches do not start twice as many.
type Slots struct {
	tokens chan struct{}
}

// NewSlots returns n slots (at least one).
func NewSlots(n int) *Slots {
	return &Slots{tokens: make(chan struct{}, max(n, 1))}
}

// Take waits for a slot; false when ctx ended first.
func (s *Slots) Take(ctx context.Context) bool {
	select {
	case s.tokens <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// Give returns a slot taken.
func (s *Slots) Give() { <-s.tokens }
