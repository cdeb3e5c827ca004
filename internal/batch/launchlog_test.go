package batch

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher/launchertest"
	"github.com/sparkgate/sparkgate/internal/livy"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/store/storetest"
)

// Lines as Spark 3.5 and 4.x print them at a driver's start, in local and standalone mode.
func TestLaunchLogReadsTheApplicationFromItsDriversLog(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		ui    string
		up    bool
	}{
		{name: "Spark 4 on standalone, client mode", lines: []string{
			"26/12/01 12:07:29 INFO SparkContext: Submitted application: PythonPi",
			"26/12/01 12:07:30 INFO Utils: Successfully started service 'SparkUI' on port 4041.",
			"26/12/01 12:07:30 INFO StandaloneSchedulerBackend: Connected to Spark cluster with app ID app-20261201120730-0000",
			"26/12/01 12:07:30 INFO BlockManagerMaster: Registered BlockManager BlockManagerId(driver, 192.0.2.2, 33381, None)",
		}, ui: "http://192.0.2.2:4041", up: true},
		{name: "Spark 4 in local mode", lines: []string{
			"26/12/01 12:07:55 INFO SparkContext: Submitted application: PythonPi",
			"26/12/01 12:07:56 INFO Utils: Successfully started service 'SparkUI' on port 4040.",
			"26/12/01 12:07:56 INFO BlockManagerMaster: Registered BlockManager BlockManagerId(driver, 192.0.2.2, 38043, None)",
		}, ui: "http://192.0.2.2:4040", up: true},
		{name: "Spark 3.5 prints the UI's URL whole", lines: []string{
			"24/01/01 00:00:00 INFO SparkUI: Bound SparkUI to 0.0.0.0, and started at http://host-a:4040",
			"24/01/01 00:00:01 INFO YarnClientSchedulerBackend: Submitted application application_1700000000000_0001",
			"24/01/01 00:00:02 INFO BlockManagerMaster: Registered BlockManager BlockManagerId(driver, host-a, 40000, None)",
		}, ui: "http://host-a:4040", up: true},
		{name: "not up before the block manager registers", lines: []string{
			"26/12/01 12:07:29 INFO SparkContext: Submitted application: PythonPi",
		}},
		{name: "the UI's stop is not its address", lines: []string{
			"26/12/01 12:08:00 INFO SparkUI: Stopped Spark web UI at http://192.0.2.2:4040",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l launchLog
			for _, line := range tc.lines {
				l.scan(line)
			}
			ui := ""
			if c := l.uiCandidates(); len(c) > 0 {
				ui = c[0]
			}
			if ui != tc.ui || l.up != tc.up {
				t.Errorf("read UI %q, up %v; want %q, %v", ui, l.up, tc.ui, tc.up)
			}
		})
	}
}

// The UI a driver's log names gives the application's id only when the application it serves
// carries the batch's tag: a job printing a look-alike line names another UI, whose id is not
// taken.
func TestAppIDOnlyFromTheApplicationsOwnUI(t *testing.T) {
	ui := func(tag string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/api/v1/applications":
				io.WriteString(w, `[{"id":"local-1764590000000"}]`)
			case "/api/v1/applications/local-1764590000000/environment":
				fmt.Fprintf(w, `{"sparkProperties":[["spark.master","local[*]"],["spark.sparkgate.tag",%q]]}`, tag)
			default:
				http.NotFound(w, r)
			}
		}))
	}
	own, other := ui("sparkgate-batch-3-ab"), ui("sparkgate-batch-9-cd")
	defer own.Close()
	defer other.Close()
	ctx := context.Background()
	if got := askUI(ctx, own.URL, "sparkgate-batch-3-ab"); got != "local-1764590000000" {
		t.Errorf("its own UI: %q", got)
	}
	if got := askUI(ctx, other.URL, "sparkgate-batch-3-ab"); got != "" {
		t.Errorf("another application's UI gave id %q", got)
	}
	if got := askUI(ctx, "http://127.0.0.1:1", "sparkgate-batch-3-ab"); got != "" {
		t.Errorf("no UI gave id %q", got)
	}
}

// A start slower than the launch timeout (a loaded host) gives up its launch slot, and its
// application's id is still read from its UI once its SparkContext is up: late, not never.
func TestASlowStartStillGetsItsAppID(t *testing.T) {
	st, fl := storetest.Embedded(t), launchertest.New(t.TempDir())
	m := newTestManager(t, st, fl) // a launch timeout of 20 ms
	created, err := m.Create(context.Background(), &livy.CreateBatchRequest{File: "/job.py"}, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tag := created.Session.Tag
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/applications":
			io.WriteString(w, `[{"id":"local-1764590000001"}]`)
		case "/api/v1/applications/local-1764590000001/environment":
			fmt.Fprintf(w, `{"sparkProperties":[["spark.sparkgate.tag",%q]]}`, tag)
		default:
			http.NotFound(w, r)
		}
	}))
	defer ui.Close()
	launchertest.Eventually(t, "the launch", func() bool { return len(fl.Starts(tag)) == 1 })
	time.Sleep(100 * time.Millisecond) // past the launch timeout
	lines := "INFO SparkUI: Bound SparkUI to 0.0.0.0, and started at " + ui.URL + "\n" +
		"INFO BlockManagerMaster: Registered BlockManager BlockManagerId(driver, 127.0.0.1, 40000, None)\n"
	if err := os.WriteFile(fl.LogPath(tag), []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	launchertest.Eventually(t, "the app id of a start slower than the launch timeout", func() bool {
		sess, err := st.GetSession(context.Background(), store.KindBatch, created.Session.ID)
		return err == nil && sess.AppID == "local-1764590000001" && sess.AppInfo.SparkUIURL == ui.URL
	})
}
