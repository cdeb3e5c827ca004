package interactive

import (
	"context"
	"fmt"
	"time"

	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/periodic"
	"github.com/sparkgate/sparkgate/internal/store"
)

// Timeouts are the server's bounds for ending sessions; a session's own idleTimeout and ttl
// may shorten them, not lengthen them. Zero turns one off.
type Timeouts struct {
	// Idle ends a session whose user has done nothing for this long (Livy's
	// livy.server.session.timeout, 1h); a busy session is never idle.
	Idle time.Duration
	// TTL ends a session this long after its creation, busy or not.
	TTL time.Duration
}

// expiry says why sess must end at now, or "" while it may live. Livy's rules, except that
// only an idle session can time out idle (Livy also counts a starting one, which ends a slow
// start under a short idleTimeout): the idle clock runs from the session's becoming ready or
// its last statement, cancel or completion; the heartbeat clock from the last client request
// naming the session (heartbeatTimeoutInSecond); the ttl from the creation.
func expiry(sess *store.Session, req *livy.CreateInteractiveRequest, now time.Time, defaults Timeouts) string {
	if sess.State.Terminal() {
		return ""
	}
	if req.HeartbeatTimeoutInSecond != nil && *req.HeartbeatTimeoutInSecond > 0 {
		limit := time.Duration(*req.HeartbeatTimeoutInSecond) * time.Second
		if now.Sub(sess.LastHeartbeat()) > limit {
			return fmt.Sprintf("no client heartbeat for more than %s (heartbeatTimeoutInSecond)", limit)
		}
	}
	idle, ttl := within(defaults.Idle, req.IdleTimeout), within(defaults.TTL, req.TTL)
	if idle > 0 && sess.State == store.StateIdle && now.Sub(sess.LastActive()) > idle {
		return fmt.Sprintf("inactive for more than %s", idle)
	}
	if ttl > 0 && now.Sub(sess.CreatedAt) > ttl {
		return fmt.Sprintf("older than its time to live, %s", ttl)
	}
	return ""
}

// within is a session's own timeout within the server's: a session may end sooner than the
// server says, never later (idleTimeout "0", off, does not escape the server's idle timeout).
func within(server time.Duration, own *string) time.Duration {
	if own == nil {
		return server
	}
	d, _ := livy.ParseTimeout(*own)
	if server > 0 && (d <= 0 || d > server) {
		return server
	}
	return d
}

// sweepTimeouts ends, every interval, the sessions this instance supervises that timed out:
// as Livy does, the session is deleted and its driver killed.
func (m *Manager) sweepTimeouts(interval time.Duration) {
	periodic.Every(m.ctx, interval, func() bool {
		active, err := m.store.ListActive(m.ctx, store.KindInteractive)
		if err != nil {
			m.log.Warn("timeout sweep", "err", err)
			return true
		}
		now := m.now()
		for _, sess := range active {
			if sess.Supervisor != m.cfg.InstanceID {
				continue
			}
			req, _ := Request(sess)
			if reason := expiry(sess, req, now, m.cfg.Timeouts); reason != "" {
				m.log.Info("deleting session", "id", sess.ID, "reason", reason)
				if err := m.Delete(m.ctx, sess.ID); err != nil {
					m.log.Warn("delete timed-out session", "id", sess.ID, "err", err)
				}
			}
		}
		return true
	})
}

// Heartbeat records that a client asked for the session, for its heartbeat timeout. It writes
// at most a few times per timeout, not on every request.
func (m *Manager) Heartbeat(ctx context.Context, sess *store.Session) {
	req, _ := Request(sess)
	if req.HeartbeatTimeoutInSecond == nil || *req.HeartbeatTimeoutInSecond <= 0 || sess.State.Terminal() {
		return
	}
	limit := time.Duration(*req.HeartbeatTimeoutInSecond) * time.Second
	now := m.now()
	if now.Sub(sess.LastHeartbeat()) < min(limit/4, 5*time.Second) {
		return
	}
	if _, err := m.store.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindInteractive, ID: sess.ID, Heartbeat: true, Now: now}); err != nil {
		m.log.Warn("record heartbeat", "id", sess.ID, "err", err)
	}
}
