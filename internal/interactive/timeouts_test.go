package interactive

import (
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
)

func TestExpiryFollowsLivysTimeouts(t *testing.T) {
	created := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	str := func(s string) *string { return &s }
	secs := func(n int) *int { return &n }
	hour := Timeouts{Idle: time.Hour}
	for _, tc := range []struct {
		name     string
		state    store.State
		activeAt time.Duration // after creation; 0 = never
		beatAt   time.Duration
		req      livy.CreateInteractiveRequest
		defaults Timeouts
		now      time.Duration // after creation
		want     string        // a piece of the reason, or "" to live on
	}{
		{name: "fresh", state: store.StateIdle, defaults: hour, now: time.Minute},
		{name: "server idle timeout", state: store.StateIdle, defaults: hour, now: 61 * time.Minute, want: "inactive for more than 1h0m0s"},
		{name: "a statement resets the idle clock", state: store.StateIdle, activeAt: 30 * time.Minute, defaults: hour, now: 61 * time.Minute},
		{name: "busy is never idle", state: store.StateBusy, defaults: hour, now: 5 * time.Hour},
		{name: "a slow start is not idleness", state: store.StateStarting, defaults: hour, now: 2 * time.Hour},
		{name: "session idleTimeout overrides", state: store.StateIdle, req: livy.CreateInteractiveRequest{IdleTimeout: str("5m")}, defaults: hour, now: 6 * time.Minute, want: "inactive for more than 5m0s"},
		// beyond Livy: the server's timeouts bound a session's own
		{name: "session idleTimeout may not be longer", state: store.StateIdle, req: livy.CreateInteractiveRequest{IdleTimeout: str("2h")}, defaults: hour, now: 90 * time.Minute, want: "inactive for more than 1h0m0s"},
		{name: "idleTimeout 0 does not escape the server's", state: store.StateIdle, req: livy.CreateInteractiveRequest{IdleTimeout: str("0")}, defaults: hour, now: 90 * time.Minute, want: "inactive for more than 1h0m0s"},
		{name: "session ttl may not be longer", state: store.StateBusy, req: livy.CreateInteractiveRequest{TTL: str("0")}, defaults: Timeouts{TTL: time.Hour}, now: 61 * time.Minute, want: "time to live"},
		{name: "a session's own without a server's", state: store.StateIdle, req: livy.CreateInteractiveRequest{IdleTimeout: str("2h")}, now: 90 * time.Minute},
		{name: "idle off", state: store.StateIdle, now: 100 * time.Hour},
		{name: "ttl ends a busy session", state: store.StateBusy, activeAt: 59 * time.Minute, req: livy.CreateInteractiveRequest{TTL: str("1h")}, now: 61 * time.Minute, want: "time to live"},
		{name: "server ttl", state: store.StateIdle, activeAt: 59 * time.Minute, defaults: Timeouts{TTL: time.Hour}, now: 61 * time.Minute, want: "time to live"},
		{name: "heartbeat missed", state: store.StateBusy, req: livy.CreateInteractiveRequest{HeartbeatTimeoutInSecond: secs(60)}, now: 61 * time.Second, want: "heartbeat"},
		{name: "heartbeat kept", state: store.StateBusy, beatAt: 30 * time.Second, req: livy.CreateInteractiveRequest{HeartbeatTimeoutInSecond: secs(60)}, now: 61 * time.Second},
		{name: "heartbeat 0 is off", state: store.StateIdle, req: livy.CreateInteractiveRequest{HeartbeatTimeoutInSecond: secs(0)}, now: time.Hour},
		{name: "ended sessions are left alone", state: store.StateDead, defaults: hour, now: 10 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess := &store.Session{State: tc.state, CreatedAt: created}
			if tc.activeAt > 0 {
				sess.ActiveAt = created.Add(tc.activeAt)
			}
			if tc.beatAt > 0 {
				sess.HeartbeatAt = created.Add(tc.beatAt)
			}
			got := expiry(sess, &tc.req, created.Add(tc.now), tc.defaults)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("expiry = %q, want %q", got, tc.want)
			}
		})
	}
}
