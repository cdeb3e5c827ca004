package yarn

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

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

// containerLog reads one log file of a container from the NodeManager's REST API. amLogs is
// the RM's amContainerLogs link, http://nm:port/node/containerlogs/CONTAINER/USER.
func (b *Backend) containerLog(ctx context.Context, amLogs, name string) (string, error) {
	base, rest, ok := strings.Cut(amLogs, "/node/containerlogs/")
	if !ok {
		return "", fmt.Errorf("unexpected container log link")
	}
	container, _, _ := strings.Cut(rest, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/ws/v1/node/containerlogs/"+container+"/"+name, nil)
	if err != nil {
		return "", err
	}
	resp, err := b.rm.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("NodeManager: %s", resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if len(body) > launcher.MaxDriverLogBytes {
		body = body[len(body)-launcher.MaxDriverLogBytes:]
	}
	return strings.TrimRight(string(body), "\n"), nil
}
