package yarn

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/sparkgate/sparkgate/internal/supervisor"
)

// maxDriverLogBytes bounds what is copied of each of the driver's files (the end is kept).
const maxDriverLogBytes = 8 << 20

// keepDriverLog copies, once, what the NodeManager serves of the application master's stdout
// and stderr — in cluster mode the driver's own output — into the application's log, so that
// it stays readable under Livy's paging after YARN removed the container. It runs when the
// application is seen ended; a marker file in its directory makes it once across restarts and
// instances sharing the directory.
func (b *Backend) keepDriverLog(ctx context.Context, tag string, a *Application) {
	if a.AMContainerLogs == "" {
		return
	}
	d, err := b.Dir(tag)
	if err != nil {
		return
	}
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		return
	}
	claim, err := os.OpenFile(filepath.Join(string(d), "driver-log-kept"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil { // kept already (fs.ErrExist), or the directory cannot take the marker
		return
	}
	claim.Close()
	for _, name := range []string{"stdout", "stderr"} {
		content, err := b.containerLog(ctx, a.AMContainerLogs, name)
		if err != nil {
			_ = supervisor.AppendLog(d, fmt.Sprintf("sparkgate: the driver's %s (%s) could not be read: %v", name, a.AMContainerLogs, err))
			continue
		}
		_ = supervisor.AppendLog(d, fmt.Sprintf("sparkgate: the driver's %s, as YARN's NodeManager served it (%s):\n%s", name, a.AMContainerLogs, content))
	}
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
	if len(body) > maxDriverLogBytes {
		body = body[len(body)-maxDriverLogBytes:]
	}
	return strings.TrimRight(string(body), "\n"), nil
}
