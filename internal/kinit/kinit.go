// Package kinit owns the gateway's own Kerberos credentials, from the launch keytab: a ticket
// cache of its own, filled by MIT kinit and renewed at an interval, from which spark-submit
// submits to a kerberized cluster (and impersonates users with --proxy-user), as Livy's
// livy.server.launch.kerberos.* settings do; and an HTTP transport that authenticates to the
// cluster's REST APIs with SPNEGO.
package kinit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sparkgate/sparkgate/internal/lifecycle"
)

// Config says whose credentials to keep, and where.
type Config struct {
	// Principal and Keytab are the gateway's launch identity (sparkgate/host@REALM).
	Principal, Keytab string
	// Cache is the path of the ticket cache file (0600, the gateway's alone).
	Cache string
	// Refresh is how often a new ticket is obtained (Livy's refresh-interval, 1 h); it must be
	// shorter than the tickets' lifetime.
	Refresh time.Duration
	// Retry is how soon a failed kinit is tried again (1 min).
	Retry time.Duration
	// Program is the kinit to run ("kinit", found on PATH, by default).
	Program string
	// Env is kinit's environment (KRB5_CONFIG and the like).
	Env []string
}

func (c Config) withDefaults() Config {
	if c.Refresh <= 0 {
		c.Refresh = time.Hour
	}
	if c.Retry <= 0 {
		c.Retry = time.Minute
	}
	if c.Program == "" {
		c.Program = "kinit"
	}
	return c
}

// Keeper keeps one ticket cache fresh.
type Keeper struct {
	cfg  Config
	log  *slog.Logger
	life lifecycle.Group
}

// New returns a keeper; Start it.
func New(cfg Config, log *slog.Logger) *Keeper {
	return &Keeper{cfg: cfg.withDefaults(), log: log}
}

// CacheEnv is the environment entry that points a program at the kept cache.
func (k *Keeper) CacheEnv() string { return "KRB5CCNAME=FILE:" + k.cfg.Cache }

// Start obtains the first ticket, and fails when it cannot: a gateway that cannot submit
// should not start. It then renews the ticket until Stop.
func (k *Keeper) Start(ctx context.Context) error {
	if err := k.obtain(ctx); err != nil {
		return err
	}
	k.log.Info("obtained the launch ticket", "principal", k.cfg.Principal, "cache", k.cfg.Cache, "refresh", k.cfg.Refresh)
	lctx := k.life.Start(ctx)
	k.life.Go(func() { k.renew(lctx) })
	return nil
}

// Stop ends the renewals.
func (k *Keeper) Stop() { k.life.Stop() }

func (k *Keeper) renew(ctx context.Context) {
	wait := k.cfg.Refresh
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err := k.obtain(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			// the ticket in the cache stays until it expires: submissions go on meanwhile
			k.log.Error("renew the launch ticket; retrying", "principal", k.cfg.Principal, "retry", k.cfg.Retry, "err", err)
			wait = k.cfg.Retry
			continue
		}
		k.log.Debug("renewed the launch ticket", "principal", k.cfg.Principal)
		wait = k.cfg.Refresh
	}
}

// obtain runs kinit into a new file beside the cache and renames it over the cache, so that a
// spark-submit reading the cache meanwhile reads the old one or the new one, whole.
func (k *Keeper) obtain(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(k.cfg.Cache), 0o700); err != nil {
		return fmt.Errorf("kinit: %w", err)
	}
	next := k.cfg.Cache + ".next"
	os.Remove(next)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.cfg.Program, "-k", "-t", k.cfg.Keytab, "-c", "FILE:"+next, k.cfg.Principal)
	cmd.Env = k.cfg.Env
	out, err := cmd.CombinedOutput()
	if err != nil {
		os.Remove(next)
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("kinit -k -t %s %s failed: %s", k.cfg.Keytab, k.cfg.Principal, strings.TrimSpace(string(out)))
		}
		return fmt.Errorf("kinit: %w", err)
	}
	if err := os.Chmod(next, 0o600); err != nil {
		return fmt.Errorf("kinit: %w", err)
	}
	if err := os.Rename(next, k.cfg.Cache); err != nil {
		return fmt.Errorf("kinit: %w", err)
	}
	return nil
}
