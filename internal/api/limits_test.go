package api

import (
	"net/http/httptest"
	"testing"

	"github.com/sparkgate/sparkgate/internal/auth"
	"github.com/sparkgate/sparkgate/internal/errkind"
)

// One user's requests under way are bounded, others' are not; an anonymous client is
// counted by its address; a slot given back is free again.
func TestInflightIsBoundedPerUser(t *testing.T) {
	f := newInflight(2)
	r := httptest.NewRequest("GET", "/batches", nil)
	alice := auth.Identity{User: "alice"}
	a1, err1 := f.acquire(r, alice)
	_, err2 := f.acquire(r, alice)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := f.acquire(r, alice); errkind.Of(err) != errkind.TooManyRequests {
		t.Errorf("alice's third: %v, want 429", err)
	}
	if _, err := f.acquire(r, auth.Identity{User: "bob"}); err != nil {
		t.Errorf("bob beside alice: %v", err)
	}
	other := httptest.NewRequest("GET", "/batches", nil)
	other.RemoteAddr = "192.0.2.9:1234"
	if _, err := f.acquire(other, auth.Identity{}); err != nil {
		t.Errorf("an anonymous client of another address: %v", err)
	}
	a1()
	if _, err := f.acquire(r, alice); err != nil {
		t.Errorf("after one finished: %v", err)
	}
}
