// Package clusterview keeps the one shared answer a cluster backend has of its cluster
// manager: "what is known of application K", for every application the gateway follows, at
// the cost of one refresh per poll interval however many there are. A refresh is the
// backend's own (one list request, plus lookups for what the list lacks); the view keeps no
// goroutine: the first caller after a poll interval refreshes, and callers that came meanwhile
// wait for that refresh and share it. A failing cluster manager is asked again after a
// backoff of 1, 2, 4 … poll intervals (at most 30 s), with one warning when it starts failing
// and one line when it answers again.
package clusterview

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// maxBackoff bounds the wait between two refreshes of a failing cluster manager.
const maxBackoff = 30 * time.Second

// Refresh takes a new answer for the keys wanted: what the cluster manager knows of each key
// it found, and which keys the answer covers (found or known to be absent). It may answer for
// more keys than wanted (a list of every active application).
type Refresh[V any] func(ctx context.Context, want []string) (found map[string]V, looked map[string]bool, err error)

// View is the shared answer of one cluster manager.
type View[V any] struct {
	refresh  Refresh[V]
	interval time.Duration
	name     string // the cluster manager, for the log: "the ResourceManager http://rm:8088"
	log      *slog.Logger

	refreshing sync.Mutex // held by the one refresh under way

	mu        sync.Mutex
	asked     map[string]time.Time // keys asked about, and when last
	found     map[string]V         // the last refresh's answer
	looked    map[string]bool      // keys the last refresh answered for (found or not)
	at        time.Time            // when the last refresh began
	err       error                // how the last refresh failed
	failures  int                  // refreshes failed in a row
	nextRetry time.Time
}

// New returns a view refreshed by refresh at most once per interval; name names the cluster
// manager in log lines.
func New[V any](refresh Refresh[V], interval time.Duration, name string, log *slog.Logger) *View[V] {
	return &View[V]{refresh: refresh, interval: interval, name: name, log: log,
		asked: map[string]time.Time{}, found: map[string]V{}, looked: map[string]bool{}}
}

// Get tells what the cluster manager knows of key, from an answer taken no longer than the poll
// interval ago that covered key; ok is false when it knows nothing of it.
func (v *View[V]) Get(ctx context.Context, key string) (V, bool, error) {
	v.mu.Lock()
	v.asked[key] = time.Now()
	v.mu.Unlock()
	if a, ok, err, done := v.cached(key); done {
		return a, ok, err
	}
	v.refreshing.Lock()
	defer v.refreshing.Unlock()
	if a, ok, err, done := v.cached(key); done {
		return a, ok, err // the refresh we waited for covered the key, or failed
	}
	if err := v.renew(ctx); err != nil {
		var zero V
		return zero, false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	a, ok := v.found[key]
	return a, ok, nil
}

// cached answers from the current answer when it is fresh and covered key, or with the last
// refresh's error while its backoff lasts; done is false when a refresh is due.
func (v *View[V]) cached(key string) (a V, ok bool, err error, done bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := time.Now()
	if v.err != nil {
		return a, false, v.err, now.Before(v.nextRetry)
	}
	if !v.looked[key] || now.Sub(v.at) >= v.interval {
		return a, false, nil, false
	}
	a, ok = v.found[key]
	return a, ok, nil, true
}

// renew takes a new answer; v.refreshing held.
func (v *View[V]) renew(ctx context.Context) error {
	began := time.Now()
	v.mu.Lock()
	var want []string
	for key, last := range v.asked {
		if began.Sub(last) > 10*v.interval { // no longer followed
			delete(v.asked, key)
			continue
		}
		want = append(want, key)
	}
	v.mu.Unlock()

	found, looked, err := v.refresh(ctx, want)

	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil {
		v.failures++
		v.err = err
		v.nextRetry = time.Now().Add(min(v.interval<<min(v.failures-1, 10), maxBackoff))
		if v.failures == 1 {
			v.log.Warn(v.name+" does not answer; application states stay as they were until it does", "err", err)
		}
		return err
	}
	if v.failures > 0 {
		v.log.Info(v.name+" answers again", "failed_polls", v.failures)
	}
	v.found, v.looked, v.at, v.err, v.failures = found, looked, began, nil, 0
	return nil
}
