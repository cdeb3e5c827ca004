package server

import (
	"net"
	"net/http"
	"testing"
)

type fakeConn struct {
	net.Conn
	name   string
	closed bool
}

func (c *fakeConn) Close() error { c.closed = true; return nil }

// Over the bound, the connection waiting longest without a request is closed — never one
// with a request in flight.
func TestConnLimitClosesTheLongestWaiting(t *testing.T) {
	l := newConnLimit(2)
	busy, silent, idle := &fakeConn{name: "busy"}, &fakeConn{name: "silent"}, &fakeConn{name: "idle"}
	l.track(busy, http.StateNew)
	l.track(busy, http.StateActive)
	l.track(silent, http.StateNew) // sends nothing
	l.track(idle, http.StateNew)   // third: over the bound
	if !silent.closed || busy.closed || idle.closed {
		t.Fatalf("closed: busy %v, silent %v, idle %v; want the silent one only", busy.closed, silent.closed, idle.closed)
	}
	l.track(silent, http.StateClosed)
	l.track(idle, http.StateActive)
	l.track(idle, http.StateIdle)
	next := &fakeConn{name: "next"}
	l.track(next, http.StateNew)
	if !idle.closed || busy.closed || next.closed {
		t.Errorf("closed: busy %v, idle %v, next %v; want the idle keep-alive", busy.closed, idle.closed, next.closed)
	}
	l.track(idle, http.StateClosed)
	l.track(busy, http.StateHijacked)
	if l.open != 1 || l.waiting.Len() != 1 {
		t.Errorf("open %d, waiting %d; want 1 and 1", l.open, l.waiting.Len())
	}
}
