package runner_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/batch"
	"github.com/sparkgate/sparkgate/internal/idempotency"
	"github.com/sparkgate/sparkgate/internal/interactive"
	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/runner"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

// A slot is taken until given back; a wait for one ends with its context.
func TestSlots(t *testing.T) {
	s := runner.NewSlots(1)
	if !s.Take(context.Background()) {
		t.Fatal("the first slot was not taken")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if s.Take(ctx) {
		t.Fatal("a second slot of one was taken")
	}
	s.Give()
	if !s.Take(context.Background()) {
		t.Fatal("a slot given back was not taken again")
	}
}

// The instance's launch slots are shared by both kinds: with one, a batch waits while a
// session's driver is starting, and starts once the driver is ready.
func TestBatchesAndSessionsShareTheLaunchSlots(t *testing.T) {
	ctx := context.Background()
	st, fl := storetest.Embedded(t), launchertest.New(t.TempDir())
	log := slog.New(slog.DiscardHandler)
	limits := launcher.Limits{MaxConcurrentLaunches: 1, LaunchTimeout: time.Minute, PollInterval: 5 * time.Millisecond}
	slots := runner.NewSlots(limits.MaxConcurrentLaunches)
	sessions := interactive.New(interactive.Config{DataDir: t.TempDir(), DriverURL: "http://gw", InstanceID: "me", Limits: limits, Slots: slots},
		st, fl, logfile.New(), log)
	if err := sessions.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sessions.Stop)
	batches := batch.New(batch.Config{Limits: limits, InstanceID: "me", Slots: slots}, st, fl, logfile.New(), nil, log)
	if err := batches.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(batches.Stop)

	session, err := sessions.Create(ctx, &livy.CreateInteractiveRequest{}, idempotency.Options{})
	if err != nil {
		t.Fatal(err)
	}
	launchertest.Eventually(t, "the driver's start", func() bool { return fl.Started() == 1 })
	b, err := batches.Create(ctx, &livy.CreateBatchRequest{File: "/job.py"}, batch.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(fl.Starts(b.Session.Tag)); n != 0 {
		t.Fatalf("the batch started while the one slot was a starting driver's")
	}
	if err := sessions.Ready(ctx, session.Session, "local-1", ""); err != nil {
		t.Fatal(err)
	}
	launchertest.Eventually(t, "the batch's start once the driver is ready", func() bool { return len(fl.Starts(b.Session.Tag)) == 1 })
}
