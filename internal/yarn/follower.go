package yarn

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
)

// follower answers "what does the RM know of the application tagged T" for every application
// the gateway follows, at the cost of one RM request per poll interval however many there
// are: one list of the active applications carrying the common tag, plus one lookup per
// asked tag that is not in it (an application being submitted, or one that just ended).
// It keeps no goroutine: the first caller after a poll interval refreshes the view, and
// callers that came meanwhile wait for that refresh and share it.
type follower struct {
	rm        *ResourceManager
	commonTag string
	interval  time.Duration
	requests  func(outcome string) // counts RM requests by outcome (ok, error)
	log       *slog.Logger

	refreshing sync.Mutex // held by the one refresh under way

	mu        sync.Mutex
	asked     map[string]time.Time   // tags asked about, and when last
	view      map[string]Application // the last refresh's answer, by tag
	looked    map[string]bool        // tags the last refresh answered for (found or not)
	at        time.Time              // when the last refresh began
	err       error                  // how the last refresh failed
	failures  int                    // refreshes failed in a row
	nextRetry time.Time
}

func newFollower(rm *ResourceManager, commonTag string, interval time.Duration, requests func(string), log *slog.Logger) *follower {
	return &follower{rm: rm, commonTag: commonTag, interval: interval, requests: requests, log: log,
		asked: map[string]time.Time{}, view: map[string]Application{}, looked: map[string]bool{}}
}

// app tells what the RM knows of the application tagged tag, from a view taken no longer than
// the poll interval ago that looked for that tag; ok is false when the RM knows none.
func (f *follower) app(ctx context.Context, tag string) (Application, bool, error) {
	f.mu.Lock()
	f.asked[tag] = time.Now()
	f.mu.Unlock()
	if a, ok, err, done := f.cached(tag); done {
		return a, ok, err
	}
	f.refreshing.Lock()
	defer f.refreshing.Unlock()
	if a, ok, err, done := f.cached(tag); done {
		return a, ok, err // the refresh we waited for looked for the tag, or failed
	}
	if err := f.refresh(ctx); err != nil {
		return Application{}, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.view[tag]
	return a, ok, nil
}

// cached answers from the current view when it is fresh and looked for tag, or with the last
// refresh's error while its backoff lasts; done is false when a refresh is due.
func (f *follower) cached(tag string) (a Application, ok bool, err error, done bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	if f.err != nil {
		return Application{}, false, f.err, now.Before(f.nextRetry)
	}
	if !f.looked[tag] || now.Sub(f.at) >= f.interval {
		return Application{}, false, nil, false
	}
	a, ok = f.view[tag]
	return a, ok, nil, true
}

// refresh takes a new view; f.refreshing held.
func (f *follower) refresh(ctx context.Context) error {
	began := time.Now()
	f.mu.Lock()
	var want []string
	for tag, last := range f.asked {
		if began.Sub(last) > 10*f.interval { // no longer followed
			delete(f.asked, tag)
			continue
		}
		want = append(want, tag)
	}
	f.mu.Unlock()

	view := map[string]Application{}
	looked := map[string]bool{}
	active, err := f.rm.Apps(ctx, url.Values{"applicationTags": {f.commonTag}, "states": {activeStates}})
	if err == nil {
		f.requests("ok")
		for _, a := range active {
			f.index(view, looked, a)
		}
		for _, tag := range want {
			if looked[tag] {
				continue
			}
			var apps []Application
			if apps, err = f.rm.Apps(ctx, url.Values{"applicationTags": {tag}}); err != nil {
				break
			}
			f.requests("ok")
			looked[tag] = true
			for _, a := range apps {
				f.index(view, looked, a)
			}
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.requests("error")
		f.failures++
		f.err = err
		// back off: 1, 2, 4 … poll intervals, at most 30 s
		backoff := min(f.interval<<min(f.failures-1, 10), 30*time.Second)
		f.nextRetry = time.Now().Add(backoff)
		if f.failures == 1 {
			f.log.Warn("the ResourceManager does not answer; application states stay as they were until it does", "rm", f.rm.URL(), "err", err)
		}
		return err
	}
	if f.failures > 0 {
		f.log.Info("the ResourceManager answers again", "rm", f.rm.URL(), "failed_polls", f.failures)
	}
	f.view, f.looked, f.at, f.err, f.failures = view, looked, began, nil, 0
	return nil
}

// index files a under each of its sparkgate tags; of two applications with one tag (which
// exactly-once launching prevents) the later one is kept.
func (f *follower) index(view map[string]Application, looked map[string]bool, a Application) {
	for _, tag := range a.Tags() {
		tag = strings.TrimSpace(tag)
		if tag == f.commonTag || !strings.HasPrefix(tag, launcher.TagPrefix) {
			continue
		}
		looked[tag] = true
		if old, ok := view[tag]; ok && old.ID != a.ID {
			f.log.Error("two YARN applications carry one tag", "tag", tag, "apps", []string{old.ID, a.ID})
			if old.StartedTime > a.StartedTime {
				continue
			}
		}
		view[tag] = a
	}
}
