package instance

import (
	"time"

	"github.com/sparkgate/sparkgate/internal/periodic"
	"github.com/sparkgate/sparkgate/internal/store"
)

// purgeBatch bounds the sessions purged in one store call.
const purgeBatch = 500

// purgeLoop forgets finished sessions of every kind past RetainFinished, with their
// application's files, and idempotency keys past their retention: a record and a directory
// are purged the same way whatever ran in them. Then it sweeps the files this instance holds
// of sessions purged or ended elsewhere.
func (in *Instance) purgeLoop() {
	every := min(max(in.cfg.RetainFinished/10, time.Second), time.Minute)
	periodic.Every(in.ctx, every, func() bool {
		for _, kind := range []store.Kind{store.KindBatch, store.KindInteractive} {
			in.purge(kind)
		}
		in.sweep()
		return true
	})
}

func (in *Instance) purge(kind store.Kind) {
	for {
		purged, err := in.store.PurgeSessions(in.ctx, &store.PurgeParams{
			Kind: kind, Before: in.now().Add(-in.cfg.RetainFinished), Limit: purgeBatch,
		})
		if err != nil {
			in.log.Warn("purge finished sessions", "kind", kind, "err", err)
			break
		}
		for _, sess := range purged {
			in.forget(sess)
		}
		if len(purged) < purgeBatch {
			break
		}
	}
	now := in.now()
	purged, err := in.store.PurgeKeys(in.ctx, &store.PurgeKeysParams{Kind: kind,
		KeysBefore: now.Add(-in.cfg.IdempotencyRetention), UnusedBefore: now.Add(-in.cfg.ReservationTTL), Limit: 1000})
	if err != nil {
		in.log.Warn("purge expired request ids", "kind", kind, "err", err)
	}
	for _, sess := range purged {
		in.forget(sess)
	}
}
