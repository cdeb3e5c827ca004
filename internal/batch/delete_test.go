package batch

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

// A DELETE that reaches any instance while the application is being started (nothing runs yet
// for its kill to reach) still ends it: the deletion is on the record, and the launch reads the
// record again once the application started.
func TestADeleteDuringTheLaunchKillsWhatStarted(t *testing.T) {
	st, fl := storetest.Embedded(t), launchertest.New(t.TempDir())
	starting, release := fl.HoldStarts()
	m := newTestManager(t, st, fl)
	peer := New(Config{Limits: launcher.Limits{PollInterval: 5 * time.Millisecond}, InstanceID: "peer"},
		st, fl, logfile.New(), nil, slog.New(slog.DiscardHandler))
	if err := peer.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(peer.Stop)
	created, err := m.Create(context.Background(), &livy.CreateBatchRequest{File: "/job.py"}, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tag := <-starting
	if err := peer.Delete(context.Background(), created.Session.ID); err != nil {
		t.Fatal(err)
	}
	release()
	launchertest.Eventually(t, "the kill of what started after the DELETE", func() bool { return fl.Kills(tag) > 0 })
	if got := stateOf(t, st, created.Session.ID); got != "gone" {
		t.Errorf("the deleted batch reads as %s", got)
	}
}

// A create replayed while its batch is being launched queues the batch again; another worker
// must not launch it a second time at once (the two would race on its directory, and the loser's
// error would end the batch dead).
func TestAReplayDuringTheLaunchStartsNothingMore(t *testing.T) {
	st, fl := storetest.Embedded(t), launchertest.New(t.TempDir())
	starting, release := fl.HoldStarts()
	m := newTestManager(t, st, fl)
	req := &livy.CreateBatchRequest{File: "/job.py"}
	created, err := m.Create(context.Background(), req, CreateOptions{RequestID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	tag := <-starting
	if _, err := m.Create(context.Background(), req, CreateOptions{RequestID: "k"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-starting:
		t.Error("a second launch of the batch started while the first was under way")
	case <-time.After(200 * time.Millisecond):
	}
	release()
	launchertest.Eventually(t, "the batch running", func() bool { return stateOf(t, st, created.Session.ID) == store.StateRunning })
	if n := len(fl.Starts(tag)); n != 1 {
		t.Errorf("started %d times", n)
	}
}
