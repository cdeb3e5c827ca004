// Package records reads the sessions of one kind the way the API shows them: one by id or
// name, a page of them, and pages or the tail of its application's log. Both session managers
// embed a Reader, so that what a client reads of a batch and of a session is read one way.
package records

import (
	"context"

	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/store"
)

// Reader reads sessions of Kind from Store and their logs, at LogPath(tag), through Logs.
type Reader struct {
	Kind    store.Kind
	Store   store.Store
	Logs    *logfile.Index
	LogPath func(tag string) string
}

// Get finds a live session by id or, when name is set, by name.
func (r Reader) Get(ctx context.Context, id int64, name string) (*store.Session, error) {
	if name != "" {
		return r.Store.GetSessionByName(ctx, r.Kind, name)
	}
	return r.Store.GetSession(ctx, r.Kind, id)
}

// List returns a page of live sessions.
func (r Reader) List(ctx context.Context, from, size int) (*store.Page, error) {
	return r.Store.ListSessions(ctx, &store.ListParams{Kind: r.Kind, From: from, Size: size})
}

// scanChunk is how many sessions ListVisible reads from the store at once.
const scanChunk = 1000

// ListVisible returns a page of the live sessions that visible keeps, and how many it keeps
// in all: the page a user who may view only some sessions sees, numbered among those alone.
func (r Reader) ListVisible(ctx context.Context, from, size int, visible func(*store.Session) bool) (*store.Page, error) {
	out := &store.Page{}
	for offset := 0; ; offset += scanChunk {
		page, err := r.Store.ListSessions(ctx, &store.ListParams{Kind: r.Kind, From: offset, Size: scanChunk})
		if err != nil {
			return nil, err
		}
		for _, sess := range page.Sessions {
			if !visible(sess) {
				continue
			}
			if out.Total >= from && len(out.Sessions) < size {
				out.Sessions = append(out.Sessions, sess)
			}
			out.Total++
		}
		if offset+scanChunk >= page.Total || len(page.Sessions) == 0 {
			return out, nil
		}
	}
}

// Log returns lines [from, from+size) of the session's whole log and its number of lines.
func (r Reader) Log(sess *store.Session, from, size int) ([]string, int, error) {
	return r.Logs.Lines(r.LogPath(sess.Tag), from, size)
}

// LogTail returns the last n lines of the session's log, read from its end (a bounded read
// that indexes nothing: a list of sessions costs no index of their logs).
func (r Reader) LogTail(sess *store.Session, n int) ([]string, error) {
	return logfile.Tail(r.LogPath(sess.Tag), n)
}
