package yarn

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/sparkgate/sparkgate/internal/clusterview"
	"github.com/sparkgate/sparkgate/internal/launcher"
)

// follower answers "what does the RM know of the application tagged T" for every application
// the gateway follows (a clusterview.View): each refresh is one list of the active
// applications carrying the common tag, plus one lookup per asked tag that is not in it (an
// application being submitted, or one that just ended).
type follower struct {
	rm        *ResourceManager
	commonTag string
	requests  func(outcome string) // counts RM requests by outcome (ok, error)
	log       *slog.Logger
	view      *clusterview.View[Application]
}

func newFollower(rm *ResourceManager, commonTag string, interval time.Duration, requests func(string), log *slog.Logger) *follower {
	f := &follower{rm: rm, commonTag: commonTag, requests: requests, log: log}
	f.view = clusterview.New(f.refresh, interval, "the ResourceManager "+rm.URL(), log)
	return f
}

// app tells what the RM knows of the application tagged tag; ok is false when it knows none.
func (f *follower) app(ctx context.Context, tag string) (Application, bool, error) {
	return f.view.Get(ctx, tag)
}

func (f *follower) refresh(ctx context.Context, want []string) (map[string]Application, map[string]bool, error) {
	view := map[string]Application{}
	looked := map[string]bool{}
	active, err := f.rm.Apps(ctx, url.Values{"applicationTags": {f.commonTag}, "states": {activeStates}})
	if err != nil {
		f.requests("error")
		return nil, nil, err
	}
	f.requests("ok")
	for _, a := range active {
		f.index(view, looked, a)
	}
	for _, tag := range want {
		if looked[tag] {
			continue
		}
		apps, err := f.rm.Apps(ctx, url.Values{"applicationTags": {tag}})
		if err != nil {
			f.requests("error")
			return nil, nil, err
		}
		f.requests("ok")
		looked[tag] = true
		for _, a := range apps {
			f.index(view, looked, a)
		}
	}
	return view, looked, nil
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
