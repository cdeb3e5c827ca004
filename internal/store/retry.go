package store

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// UpdateUntilRecorded applies p, retrying while the store is unavailable (a database
// restarting): an outcome once observed must be recorded. It gives up only when ctx ends (the
// manager stops); the next start then observes the outcome again.
func UpdateUntilRecorded(ctx context.Context, s Store, p *UpdateParams, log *slog.Logger) (*Session, error) {
	wait := 100 * time.Millisecond
	for {
		sess, err := s.UpdateSession(ctx, p)
		if !errors.Is(err, ErrUnavailable) {
			return sess, err
		}
		log.Warn("store unavailable; retrying", "kind", p.Kind, "id", p.ID, "err", err)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}
