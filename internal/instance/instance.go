// Package instance owns this server's place among the instances that share a store: its
// lease (renewed three times per period, given up at a clean stop so that a peer adopts at
// once), the adoption of the unfinished sessions of instances whose lease expired — handed to
// the manager of each session kind through the hook it registers — and the retention of
// finished sessions and idempotency keys of every kind.
package instance

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sparkgate/sparkgate/internal/lifecycle"
	"github.com/sparkgate/sparkgate/internal/metrics"
	"github.com/sparkgate/sparkgate/internal/periodic"
	"github.com/sparkgate/sparkgate/internal/store"
)

// Config says who this instance is and how long things are kept.
type Config struct {
	// ID names this server among the instances sharing the store; Addr is where peers reach it.
	ID   string
	Addr string
	// Volume identifies the applications' directory this instance sees (launcher.Volume): it
	// adopts only sessions of instances on the same volume.
	Volume string
	// Lease is how long the instance counts as alive after each renewal.
	Lease time.Duration
	// RetainFinished is how long a finished or deleted session stays in the store.
	RetainFinished time.Duration
	// IdempotencyRetention is how long a requestId (or a used reservation) answers replays.
	IdempotencyRetention time.Duration
	// ReservationTTL is how long a reserved id waits for its PUT.
	ReservationTTL time.Duration
	// Holdings, when set, are the sessions' files on this instance's disk, swept against the
	// store (see sweep).
	Holdings Holdings
}

func (c *Config) withDefaults() {
	if c.ID == "" {
		c.ID = "sparkgate"
	}
	if c.Lease <= 0 {
		c.Lease = 15 * time.Second
	}
	if c.RetainFinished <= 0 {
		c.RetainFinished = 24 * time.Hour
	}
	if c.IdempotencyRetention <= 0 {
		c.IdempotencyRetention = 7 * 24 * time.Hour
	}
	if c.ReservationTTL <= 0 {
		c.ReservationTTL = 24 * time.Hour
	}
}

// Instance keeps the lease, adopts orphans and purges what outlived its retention. Join it
// before the managers recover, Register their hooks, Start it once they run; at the end Stop
// it before the managers stop and Leave after.
type Instance struct {
	cfg     Config
	store   store.Store
	metrics *metrics.Metrics
	log     *slog.Logger
	now     func() time.Time
	// forget removes what a purged session leaves outside the store (its application's files).
	forget func(*store.Session)

	adopters map[store.Kind]func(*store.Session)
	// leaseFailing says the last renewal of the lease failed.
	leaseFailing atomic.Bool

	ctx  context.Context
	life lifecycle.Group
}

// New returns an instance that has not joined yet.
func New(cfg Config, st store.Store, forget func(*store.Session), m *metrics.Metrics, log *slog.Logger) *Instance {
	cfg.withDefaults()
	if m == nil {
		m = metrics.New()
	}
	return &Instance{cfg: cfg, store: st, forget: forget, metrics: m, log: log, now: time.Now,
		adopters: map[store.Kind]func(*store.Session){}}
}

// ID is this instance's name in the store.
func (in *Instance) ID() string { return in.cfg.ID }

// Register makes recover the hook that takes over a session of kind adopted from a dead peer.
// Call it before Start.
func (in *Instance) Register(kind store.Kind, recover func(*store.Session)) {
	in.adopters[kind] = recover
}

// Join takes up the lease, so that no peer adopts this instance's sessions while it recovers.
func (in *Instance) Join(ctx context.Context) error {
	if err := in.renew(ctx, in.now().Add(in.cfg.Lease)); err != nil {
		return fmt.Errorf("take the instance lease: %w", err)
	}
	return nil
}

// Start adopts the orphans of expired peers once, then keeps the lease, adopts and purges in
// the background until Stop.
func (in *Instance) Start(ctx context.Context) error {
	for kind := range in.adopters {
		if err := in.adopt(ctx, kind); err != nil {
			return err
		}
	}
	in.ctx = in.life.Start(ctx)
	in.life.Go(in.leaseLoop)
	in.life.Go(in.adoptLoop)
	in.life.Go(in.purgeLoop)
	return nil
}

// Stop ends the background work and waits for it; the lease is kept until Leave.
func (in *Instance) Stop() {
	in.life.Stop()
}

// Leave gives up the lease, so that a peer adopts this instance's sessions at once. Call it
// once the managers stopped: nothing of this instance acts on them any more.
func (in *Instance) Leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := in.renew(ctx, in.now()); err != nil {
		in.log.Warn("give up the instance lease", "err", err)
	}
}

func (in *Instance) renew(ctx context.Context, until time.Time) error {
	return in.store.RenewLease(ctx, &store.LeaseParams{InstanceID: in.cfg.ID, Addr: in.cfg.Addr, Volume: in.cfg.Volume, LeaseUntil: until})
}

// adopt takes over the unfinished sessions of kind whose instance's lease expired.
func (in *Instance) adopt(ctx context.Context, kind store.Kind) error {
	adopted, err := in.store.AdoptSessions(ctx, &store.AdoptParams{Kind: kind, InstanceID: in.cfg.ID, Volume: in.cfg.Volume, Now: in.now()})
	if err != nil {
		return fmt.Errorf("adopt %s sessions: %w", kind, err)
	}
	for _, sess := range adopted {
		in.adopters[kind](sess)
	}
	in.log.Debug("adoption pass", "kind", kind, "adopted", len(adopted))
	if len(adopted) > 0 {
		in.metrics.Adopted.Add(float64(len(adopted)))
		in.log.Info("adopted sessions of an instance whose lease expired", "kind", kind, "count", len(adopted))
	}
	return nil
}

// leaseLoop renews the lease three times per lease period.
func (in *Instance) leaseLoop() {
	periodic.Every(in.ctx, in.cfg.Lease/3, func() bool {
		err := in.renew(in.ctx, in.now().Add(in.cfg.Lease))
		in.leaseFailing.Store(err != nil)
		if err != nil {
			in.log.Warn("renew the instance lease", "err", err)
		}
		return true
	})
}

// adoptInterval is how often orphans are looked for: a peer that left gave up its lease, and
// its sessions are taken over within this time (one indexed query of the unfinished ones).
const adoptInterval = time.Second

// adoptLoop adopts the orphans of peers whose lease expired or was given up, while this
// instance's own renewals succeed (a store that fails them would fail adoptions too).
func (in *Instance) adoptLoop() {
	periodic.Every(in.ctx, min(adoptInterval, in.cfg.Lease/3), func() bool {
		if in.leaseFailing.Load() {
			return true
		}
		for kind := range in.adopters {
			if err := in.adopt(in.ctx, kind); err != nil {
				in.log.Warn("adopt orphaned sessions", "kind", kind, "err", err)
			}
		}
		return true
	})
}
