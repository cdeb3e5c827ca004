package batch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/logfile"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
	"github.com/sparkgate/sparkgate/internal/supervisor"
)

func newTestManager(t *testing.T, st store.Store, l Launcher) *Manager {
	t.Helper()
	m := New(Config{Limits: launcher.Limits{PollInterval: 5 * time.Millisecond, LaunchTimeout: 20 * time.Millisecond}, InstanceID: "test"},
		st, l, logfile.New(), nil, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

func stateOf(t *testing.T, st store.Store, id int64) store.State {
	sess, err := st.GetSession(context.Background(), store.KindBatch, id)
	if err != nil {
		return "gone"
	}
	return sess.State
}

// How an application ends decides the batch's final state, never a guess.
func TestOutcomeMapping(t *testing.T) {
	cases := []struct {
		name string
		exit *supervisor.Exit
		want store.State
	}{
		{"exit 0", &supervisor.Exit{Code: 0}, store.StateSuccess},
		{"exit 1 (a job that raised)", &supervisor.Exit{Code: 1}, store.StateDead},
		{"killed by a signal", &supervisor.Exit{Code: -1, Signal: "killed"}, store.StateDead},
		{"supervisor lost", &supervisor.Exit{Code: -1, Lost: true}, store.StateDead},
		{"spark-submit did not start", &supervisor.Exit{Code: -1, Error: "no such file"}, store.StateDead},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, fl := storetest.Embedded(t), launchertest.New(t.TempDir())
			m := newTestManager(t, st, fl)
			created, err := m.Create(context.Background(), &livy.CreateBatchRequest{File: "/job.py"}, CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tag := created.Session.Tag
			launchertest.Eventually(t, "the launch", func() bool { return stateOf(t, st, created.Session.ID) == store.StateRunning })
			fl.End(tag, c.exit)
			launchertest.Eventually(t, "the outcome", func() bool { return stateOf(t, st, created.Session.ID).Terminal() })
			if got := stateOf(t, st, created.Session.ID); got != c.want {
				t.Errorf("state = %s, want %s", got, c.want)
			}
			if n := len(fl.Starts(tag)); n != 1 {
				t.Errorf("started %d times", n)
			}
		})
	}
}

// A batch the cluster manager does not run yet (being submitted, waiting for resources) stays
// starting, as in Livy; it is running once the cluster manager runs it.
func TestABatchIsRunningOnlyOnceTheClusterManagerRunsIt(t *testing.T) {
	st, fl := storetest.Embedded(t), launchertest.New(t.TempDir())
	fl.Submitting = true
	m := newTestManager(t, st, fl)
	created, err := m.Create(context.Background(), &livy.CreateBatchRequest{File: "/job.jar"}, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tag := created.Session.Tag
	launchertest.Eventually(t, "the launch", func() bool { return len(fl.Starts(tag)) == 1 })
	time.Sleep(50 * time.Millisecond)
	if got := stateOf(t, st, created.Session.ID); got != store.StateStarting {
		t.Fatalf("state %s while the cluster manager does not run it, want starting", got)
	}
	fl.Submitted(tag)
	launchertest.Eventually(t, "running", func() bool { return stateOf(t, st, created.Session.ID) == store.StateRunning })
}

// DELETE kills: SIGTERM to the application, and its exit afterwards does not turn the batch
// into dead or success.
func TestDeleteWinsOverTheExitThatFollows(t *testing.T) {
	st, fl := storetest.Embedded(t), launchertest.New(t.TempDir())
	m := newTestManager(t, st, fl)
	ctx := context.Background()
	created, err := m.Create(ctx, &livy.CreateBatchRequest{File: "/job.py"}, CreateOptions{RequestID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	id, tag := created.Session.ID, created.Session.Tag
	launchertest.Eventually(t, "the launch", func() bool { return stateOf(t, st, id) == store.StateRunning })
	if err := m.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	fl.End(tag, &supervisor.Exit{Code: 143, Signal: "terminated"})
	launchertest.Eventually(t, "the watcher to see the exit", func() bool { return !m.apps.Following(id) })
	replay, err := m.Create(ctx, &livy.CreateBatchRequest{File: "/job.py"}, CreateOptions{RequestID: "k"})
	if err != nil || !replay.Replayed || replay.Session.State != store.StateKilled {
		t.Fatalf("after DELETE and exit: %+v, %v; want killed", replay, err)
	}
	if sigs := fl.Signals(tag); len(sigs) == 0 || sigs[0] != syscall.SIGTERM {
		t.Errorf("signals sent: %v, want SIGTERM first", sigs)
	}
}

// Recovery: what a previous server left is launched only if it never was.
func TestRecoveryLaunchesOnlyWhatNeverStarted(t *testing.T) {
	st, fl := storetest.Embedded(t), launchertest.New(t.TempDir())
	ctx := context.Background()
	var ids []int64
	var tags []string
	for i := range 3 {
		c, err := st.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting,
			Tag: fmt.Sprintf("t%d-{id}", i), Request: []byte(`{"file":"/job.py"}`), Supervisor: "test", Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		ids, tags = append(ids, c.Session.ID), append(tags, c.Session.Tag)
	}
	fl.SetStatus(tags[1], supervisor.Running)  // started before the crash, still running
	fl.End(tags[2], &supervisor.Exit{Code: 0}) // finished while no server was up
	newTestManager(t, st, fl)
	launchertest.Eventually(t, "recovery", func() bool {
		return stateOf(t, st, ids[0]) == store.StateRunning && stateOf(t, st, ids[1]) == store.StateRunning &&
			stateOf(t, st, ids[2]) == store.StateSuccess
	})
	if len(fl.Starts(tags[0])) != 1 || len(fl.Starts(tags[1])) != 0 || len(fl.Starts(tags[2])) != 0 {
		t.Errorf("starts = %d, %d, %d; want 1, 0, 0", len(fl.Starts(tags[0])), len(fl.Starts(tags[1])), len(fl.Starts(tags[2])))
	}
}

// A stored request that the policy refuses at launch (the whitelist changed) ends dead.
func TestLaunchRefusedByPolicyIsDead(t *testing.T) {
	st, fl := storetest.Embedded(t), launchertest.New(t.TempDir())
	c, err := st.CreateSession(context.Background(), &store.CreateParams{Kind: store.KindBatch, State: store.StateStarting,
		Tag: "t-{id}", Request: []byte(`{"file":"/refused.py"}`), Supervisor: "test", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	newTestManager(t, st, fl)
	launchertest.Eventually(t, "the refusal", func() bool { return stateOf(t, st, c.Session.ID) == store.StateDead })
}

// A batch launched by an instance on another host, which neither this instance nor the cluster
// manager sees yet, is launched again only after the resubmit grace: its spark-submit may
// still be on its way to the cluster manager.
func TestAnUnseenLaunchWaitsForTheResubmitGrace(t *testing.T) {
	st := storetest.Embedded(t)
	fl := launchertest.New(t.TempDir())
	ctx := context.Background()
	m := New(Config{Limits: launcher.Limits{PollInterval: 5 * time.Millisecond, ResubmitGrace: 300 * time.Millisecond}, InstanceID: "test"},
		st, fl, logfile.New(), nil, slog.New(slog.DiscardHandler))
	c, err := st.CreateSession(ctx, &store.CreateParams{Kind: store.KindBatch, State: store.StateRunning, Tag: "sparkgate-batch-{id}-ab",
		Request: []byte(`{"file":"/job.py"}`), Supervisor: "test", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	launched := time.Now()
	if _, err := st.UpdateSession(ctx, &store.UpdateParams{Kind: store.KindBatch, ID: c.Session.ID,
		Launch: &store.Launch{SupervisorPID: 4242, LaunchedAt: launched}, Now: launched}); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil { // recovers the batch: not started, as far as it can see
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	launchertest.Eventually(t, "the launch after the grace", func() bool { return fl.Started() == 1 })
	if waited := time.Since(launched); waited < 300*time.Millisecond {
		t.Errorf("launched again %s after the first launch, within the grace", waited)
	}
}

// endWatcher is a store that tells onEnd of every update that ends a session.
type endWatcher struct {
	store.Store
	onEnd func(p *store.UpdateParams)
}

func (w endWatcher) UpdateSession(ctx context.Context, p *store.UpdateParams) (*store.Session, error) {
	if p.State != nil && p.State.Terminal() {
		w.onEnd(p)
	}
	return w.Store.UpdateSession(ctx, p)
}

// A client that sees a batch ended finds why in its log: the reason is written there before
// the end is recorded.
func TestAFailedBatchsLogTellsWhyOnceItEnds(t *testing.T) {
	fl := launchertest.New(t.TempDir())
	tags := make(chan string, 1)
	notesAtEnd := make(chan []string, 1)
	st := endWatcher{Store: storetest.Embedded(t), onEnd: func(p *store.UpdateParams) {
		tag := <-tags
		notesAtEnd <- fl.Notes(tag)
	}}
	m := newTestManager(t, st, fl)
	created, err := m.Create(context.Background(), &livy.CreateBatchRequest{File: "/job.py"}, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tag := created.Session.Tag
	tags <- tag
	launchertest.Eventually(t, "the launch", func() bool { return stateOf(t, st, created.Session.ID) == store.StateRunning })
	fl.End(tag, &supervisor.Exit{Code: 3})
	notes := <-notesAtEnd
	if len(notes) != 1 || !strings.Contains(notes[0], "the application ended: ") || !strings.Contains(notes[0], "3") {
		t.Errorf("the log had %q when the batch's end was recorded; want the application's exit status", notes)
	}
}
