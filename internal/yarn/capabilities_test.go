package yarn_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
	"github.com/sparkgate/sparkgate/internal/yarn"
)

// What YARN's applications need of the gateway depends on the deploy mode, which the backend
// knows: in cluster mode drivers run in the cluster and any instance on the same RM may adopt
// (after the resubmit grace); in client mode they are this host's processes.
func TestCapabilitiesFollowTheDeployMode(t *testing.T) {
	for _, mode := range []string{"cluster", "client"} {
		apps := t.TempDir()
		l, err := launcher.New(launcher.Config{Master: "yarn", DeployMode: mode, AppsDir: apps, SupervisorCmd: []string{"/bin/false"}})
		if err != nil {
			t.Fatal(err)
		}
		b := yarn.New(l, yarn.NewResourceManager("http://rm:8088", nil), yarn.Config{PollInterval: 3 * time.Second, LaunchTimeout: 5 * time.Minute}, slog.New(slog.DiscardHandler))
		c, err := b.Capabilities()
		if err != nil {
			t.Fatal(err)
		}
		local, _ := l.Capabilities()
		cluster := mode == "cluster"
		if c.RemoteDrivers != cluster || strings.Contains(c.Scope, "http://rm:8088") != cluster || (c.Scope == local.Scope) == cluster ||
			c.FollowInterval != 3*time.Second || !c.SubmitsLocally {
			t.Errorf("%s mode: %+v", mode, c)
		}
		if want := map[bool]time.Duration{true: 10 * time.Minute, false: 0}[cluster]; c.ResubmitGrace != want {
			t.Errorf("%s mode: resubmit grace %s, want %s", mode, c.ResubmitGrace, want)
		}
	}
}
