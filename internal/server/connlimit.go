package server

import (
	"container/list"
	"net"
	"net/http"
	"sync"
)

// connLimit bounds the open connections of an http.Server (its ConnState hook). When one
// more arrives over the bound, the connection that has waited longest without a request
// under way — one that never sent its headers, or an idle keep-alive — is closed: a client
// that opens thousands of connections and sends nothing cannot keep a normal one out.
// Connections with a request in flight are never closed.
type connLimit struct {
	max     int
	mu      sync.Mutex
	open    int
	waiting *list.List                 // connections new or idle, oldest first
	where   map[net.Conn]*list.Element // their place in waiting
}

func newConnLimit(max int) *connLimit {
	return &connLimit{max: max, waiting: list.New(), where: map[net.Conn]*list.Element{}}
}

// track is the http.Server's ConnState hook.
func (l *connLimit) track(c net.Conn, state http.ConnState) {
	l.mu.Lock()
	var evict net.Conn
	switch state {
	case http.StateNew:
		l.open++
		l.where[c] = l.waiting.PushBack(c)
		if l.open > l.max {
			evict = l.waiting.Remove(l.waiting.Front()).(net.Conn)
			delete(l.where, evict)
		}
	case http.StateIdle:
		l.where[c] = l.waiting.PushBack(c)
	case http.StateActive:
		l.forget(c)
	case http.StateClosed, http.StateHijacked: // a hijacked one is the server's no more
		l.forget(c)
		l.open--
	}
	l.mu.Unlock()
	if evict != nil {
		evict.Close() // its StateClosed follows, from the server
	}
}

func (l *connLimit) forget(c net.Conn) {
	if e, ok := l.where[c]; ok {
		l.waiting.Remove(e)
		delete(l.where, c)
	}
}
