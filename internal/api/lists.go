package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/sparkgate/sparkgate/internal/access"
	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/errkind"
	"github.com/sparkgate/sparkgate/internal/records"
	"github.com/sparkgate/sparkgate/internal/store"
)

func accessOf(sess *store.Session) access.Session {
	noun := "batch"
	if sess.Kind == store.KindInteractive {
		noun = "session"
	}
	return access.Session{Kind: noun, ID: sess.ID, Owner: sess.Owner, ProxyUser: sess.ProxyUser}
}

// listFilter is what a list's query keeps, beyond Livy: any of some states, one owner, names
// containing a text (in any case). The UI's filters are these.
type listFilter struct {
	states      []store.State
	owner, name string
}

var listStates = []store.State{store.StateNotStarted, store.StateStarting, store.StateRecovering, store.StateIdle, store.StateRunning,
	store.StateBusy, store.StateShuttingDown, store.StateError, store.StateDead, store.StateKilled, store.StateSuccess}

func listFilterOf(r *http.Request) (listFilter, error) {
	q := r.URL.Query()
	f := listFilter{owner: q.Get("owner"), name: strings.ToLower(q.Get("name"))}
	for _, st := range strings.Split(q.Get("state"), ",") {
		if st = strings.TrimSpace(st); st == "" {
			continue
		}
		if !slices.Contains(listStates, store.State(st)) {
			return listFilter{}, errkind.Invalidf("state %q is not one of %v", st, listStates)
		}
		f.states = append(f.states, store.State(st))
	}
	return f, nil
}

func (f listFilter) keeps(sess *store.Session) bool {
	return (len(f.states) == 0 || slices.Contains(f.states, sess.State)) && (f.owner == "" || sess.Owner == f.owner) &&
		(f.name == "" || strings.Contains(strings.ToLower(sess.Name), f.name))
}

func (f listFilter) keepsAll() bool { return len(f.states) == 0 && f.owner == "" && f.name == "" }

// list is a page of the sessions the caller may view that the query's filter keeps, numbered
// among those.
func (s *Server) list(r *http.Request, from records.Reader, offset, size int) (*store.Page, error) {
	filter, err := listFilterOf(r)
	if err != nil {
		return nil, err
	}
	id := auth.From(r.Context())
	viewsAll := s.cfg.Access.ViewsAll(id)
	if viewsAll && filter.keepsAll() {
		return from.List(r.Context(), offset, size)
	}
	return from.ListVisible(r.Context(), offset, size, func(sess *store.Session) bool {
		return filter.keeps(sess) && (viewsAll || s.cfg.Access.Can(id, access.View, accessOf(sess)))
	})
}
