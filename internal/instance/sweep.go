package instance

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sparkgate/sparkgate/internal/store"
)

// Holdings are the files of sessions this instance keeps on its own disk: its data
// directory's application directories. On a fleet with a data directory per host (YARN's
// layout), a session's end, its DELETE and its purge may run on another instance than the one
// holding its files (the one that launched it, or that its driver polls, which keeps its
// uploads), so every instance sweeps its own against the store.
type Holdings interface {
	// Held lists the application directories held here.
	Held() ([]Held, error)
	// RemoveUploads removes the files uploaded to a session; its driver alone reads them.
	RemoveUploads(tag string) error
	// Remove removes the application's whole directory.
	Remove(tag string) error
}

// Held is one application directory.
type Held struct {
	Tag string
	// Changed is when its files last changed.
	Changed time.Time
	// Uploads says that it holds files uploaded to the session.
	Uploads bool
}

// sweep removes the files held here of sessions that ended or that the store forgot: the
// uploads of every session not running any more (terminal, or gone), and the directory of a
// session the store no longer shows once it is unchanged for as long as the store may keep the
// session hidden for a replay (IdempotencyRetention) or listed (RetainFinished).
func (in *Instance) sweep() {
	if in.cfg.Holdings == nil {
		return
	}
	// The directories first: one listed here was made after its record, so a session that
	// was running then is among the active sessions read next.
	held, err := in.cfg.Holdings.Held()
	if err != nil {
		in.log.Warn("list the application directories", "err", err)
		return
	}
	active := map[string]bool{}
	for _, kind := range []store.Kind{store.KindBatch, store.KindInteractive} {
		sessions, err := in.store.ListActive(in.ctx, kind)
		if err != nil {
			in.log.Warn("sweep the application directories", "err", err)
			return
		}
		for _, sess := range sessions {
			active[sess.Tag] = true
		}
	}
	unchangedFor := max(in.cfg.RetainFinished, in.cfg.IdempotencyRetention)
	for _, h := range held {
		if active[h.Tag] {
			continue
		}
		if h.Uploads {
			if err := in.cfg.Holdings.RemoveUploads(h.Tag); err != nil {
				in.log.Warn("remove session uploads", "tag", h.Tag, "err", err)
			}
		}
		if in.now().Sub(h.Changed) < unchangedFor || in.shown(h.Tag) {
			continue
		}
		if err := in.cfg.Holdings.Remove(h.Tag); err != nil {
			in.log.Warn("remove application directory", "tag", h.Tag, "err", err)
		}
	}
}

// shown reports whether the store still shows the session of tag, or may (it cannot be asked,
// or the tag is not of the form the managers give: sparkgate-<kind>-<id>-<random>).
func (in *Instance) shown(tag string) bool {
	parts := strings.Split(tag, "-")
	if len(parts) != 4 || parts[0] != "sparkgate" || !store.Kind(parts[1]).Valid() {
		return true
	}
	id, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return true
	}
	sess, err := in.store.GetSession(in.ctx, store.Kind(parts[1]), id)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	return err != nil || sess.Tag == tag
}
