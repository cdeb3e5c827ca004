package yarn_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/yarn/yarntest"
)

// A driver's log larger than what is kept is read as a bounded tail: the NodeManager is asked
// for its last bytes (size=-N), and the application's log keeps its end (issue 18: the whole
// log was read, 583 MiB allocated for a 256 MiB log, and lost when it took too long).
func TestTheDriverLogIsReadAsABoundedTail(t *testing.T) {
	rm := yarntest.New()
	defer rm.Close()
	b := newBackend(t, rm, time.Millisecond)
	id, tag := "application_1_0001", "sparkgate-batch-1-x"
	a := runningApp(rm, id, tag)
	a.State, a.FinalStatus = "FINISHED", "SUCCEEDED"
	rm.Add(a)
	var big bytes.Buffer
	big.WriteString("the first line\n")
	for big.Len() < 3*launcher.MaxDriverLogBytes {
		fmt.Fprintf(&big, "26/12/07 03:00:00 INFO Executor: line %d\n", big.Len())
	}
	big.WriteString("the last line of stderr\n")
	rm.ServeContainerLog("container_"+id, "stderr", big.Bytes())
	time.Sleep(2 * time.Millisecond)
	if _, err := b.Inspect(context.Background(), tag); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"stdout", "stderr"} {
		want := fmt.Sprintf("/ws/v1/node/containerlogs/container_%s/%s?size=-%d", id, file, launcher.MaxDriverLogBytes)
		found := false
		for _, u := range rm.ContainerLogRequests() {
			found = found || u == want
		}
		if !found {
			t.Errorf("the NodeManager was asked %q, want %q among them", rm.ContainerLogRequests(), want)
		}
	}
	log, err := os.ReadFile(b.LogPath(tag))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "the last line of stderr") || strings.Contains(string(log), "the first line") {
		t.Errorf("the kept log (%d bytes) lacks the end of stderr or holds its beginning", len(log))
	}
	if len(log) > launcher.MaxDriverLogBytes+64<<10 {
		t.Errorf("the kept log holds %d bytes, over MaxDriverLogBytes", len(log))
	}
}
