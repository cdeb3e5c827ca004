// Package leakcheck kills the applications that run on the cluster manager under this
// deployment's tag but that no live session owns — their record says the session ended or was
// deleted (a DELETE whose kill was lost with the cluster manager), names another application,
// or does not exist (Livy's livy.server.yarn.app-leakage check). A candidate is killed only
// after it was seen leaked for a whole grace period, because a record and its application
// are never written at one instant.
package leakcheck

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/sparkgate/sparkgate/internal/lifecycle"
	"github.com/sparkgate/sparkgate/internal/periodic"
	"github.com/sparkgate/sparkgate/internal/store"
)

// Cluster is what the check needs of a cluster backend (yarn.Backend).
type Cluster interface {
	// Tagged lists the tags of the running applications that carry the deployment's tag.
	Tagged(ctx context.Context) ([]string, error)
	Kill(ctx context.Context, tag string, force bool) (bool, error)
}

// Checker runs the check every interval until Stop.
type Checker struct {
	cluster  Cluster
	store    store.Store
	interval time.Duration
	grace    time.Duration
	log      *slog.Logger
	now      func() time.Time
	life     lifecycle.Group
	seen     map[string]time.Time // candidates, since when they are
}

// New returns a checker; Start runs it.
func New(c Cluster, st store.Store, interval, grace time.Duration, log *slog.Logger) *Checker {
	return &Checker{cluster: c, store: st, interval: interval, grace: grace, log: log, now: time.Now, seen: map[string]time.Time{}}
}

// Start runs the check in the background until Stop.
func (c *Checker) Start(ctx context.Context) {
	ctx = c.life.Start(ctx)
	c.life.Go(func() { periodic.Every(ctx, c.interval, func() bool { c.Check(ctx); return true }) })
}

// Stop ends the check and waits for it.
func (c *Checker) Stop() { c.life.Stop() }

// Check runs one pass: it kills the candidates seen for longer than the grace and returns
// their tags.
func (c *Checker) Check(ctx context.Context) []string {
	tags, err := c.cluster.Tagged(ctx)
	if err != nil {
		c.log.Warn("leak check: cannot list the cluster's applications", "err", err)
		return nil
	}
	now := c.now()
	candidates := map[string]time.Time{}
	var killed []string
	for _, tag := range tags {
		why, err := c.leaked(ctx, tag)
		if err != nil {
			c.log.Warn("leak check: cannot read the session of an application", "tag", tag, "err", err)
			return nil // decide nothing on a partial view
		}
		if why == "" {
			continue
		}
		since, ok := c.seen[tag]
		if !ok {
			since = now
		}
		if now.Sub(since) < c.grace {
			candidates[tag] = since
			continue
		}
		if _, err := c.cluster.Kill(ctx, tag, false); err != nil {
			c.log.Warn("leak check: kill failed; trying again next pass", "tag", tag, "err", err)
			candidates[tag] = since
			continue
		}
		c.log.Warn("killed a leaked application", "tag", tag, "why", why, "leaked_for", now.Sub(since).Round(time.Second))
		killed = append(killed, tag)
	}
	c.seen = candidates
	return killed
}

var tagPattern = regexp.MustCompile(`^sparkgate-(batch|session)-(\d+)-[0-9a-f]+$`)

// leaked says why the application of tag has no live session, or "" when it has one.
func (c *Checker) leaked(ctx context.Context, tag string) (string, error) {
	m := tagPattern.FindStringSubmatch(tag)
	if m == nil {
		return "", nil // not one of ours
	}
	kind := store.KindBatch
	if m[1] == "session" {
		kind = store.KindInteractive
	}
	id, _ := strconv.ParseInt(m[2], 10, 64)
	sess, err := c.store.GetSession(ctx, kind, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "no session has this application", nil
	case err != nil:
		return "", err
	case sess.Tag != tag:
		return "its session runs another application", nil
	case sess.Deleted():
		return "its session was deleted", nil
	case sess.State.Terminal():
		return "its session ended " + string(sess.State), nil
	}
	return "", nil
}
