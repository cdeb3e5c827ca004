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
