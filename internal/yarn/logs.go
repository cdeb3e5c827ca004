package yarn

import (
	"context"
	"fmt"
	"strings"

	"github.com/sparkgate/sparkgate/internal/httptail"
	"github.com/sparkgate/sparkgate/internal/launcher"
)

// keepDriverLog copies, once, what the NodeManager serves of the application master's stdout
// and stderr — in cluster mode the driver's own output — into the application's log, so that
// it stays readable under Livy's paging after YARN removed the container.
func (b *Backend) keepDriverLog(ctx context.Context, tag string, a *Application) {
	if a.AMContainerLogs == "" {
		return
	}
	b.KeepDriverLog(tag, "YARN's NodeManager ("+a.AMContainerLogs+")", func(name string) (string, error) {
		return b.containerLog(ctx, a.AMContainerLogs, name)
	})
}

// containerLog reads the end of one log file of a container from the NodeManager's REST API:
// its last MaxDriverLogBytes, asked for with size=-N (YARN-5088; a NodeManager older than that
// sends it whole, and no more than the end is held either way). amLogs is the RM's
// amContainerLogs link, http://nm:port/node/containerlogs/CONTAINER/USER.
func (b *Backend) containerLog(ctx context.Context, amLogs, name string) (string, error) {
	base, rest, ok := strings.Cut(amLogs, "/node/containerlogs/")
	if !ok {
		return "", fmt.Errorf("unexpected container log link")
	}
	container, _, _ := strings.Cut(rest, "/")
	u := fmt.Sprintf("%s/ws/v1/node/containerlogs/%s/%s?size=-%d", base, container, name, launcher.MaxDriverLogBytes)
	tail, _, err := httptail.Get(ctx, b.rm.http, u, launcher.MaxDriverLogBytes)
	if err != nil {
		return "", fmt.Errorf("NodeManager: %w", err)
	}
	return strings.TrimRight(string(tail), "\n"), nil
}
