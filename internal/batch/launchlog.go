package batch

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
)

var (
	// Application ids as YARN, standalone and Kubernetes print them.
	appIDPattern = regexp.MustCompile(`\b(application_\d+_\d+|app-\d{14}-\d{4,}|spark-[0-9a-f]{32})\b`)
	// The Spark UI's address, where Spark prints it whole (3.x: "Bound SparkUI to 0.0.0.0, and
	// started at http://host:4040").
	uiPattern = regexp.MustCompile(`(?:started at|Spark web UI at) (https?://\S+)`)
	// Where Spark 4 prints only the UI's port, and the driver's host apart.
	uiPortPattern     = regexp.MustCompile(`Successfully started service 'SparkUI' on port (\d+)`)
	driverHostPattern = regexp.MustCompile(`Registered BlockManager BlockManagerId\(driver, ([^,\s]+),`)
)

// sparkUpMarker is the last line of a SparkContext's start, in Spark 3.5 and 4.x and in every
// mode: the driver's block manager registers once the scheduler backend is connected (after
// the cluster manager gave the application its id).
const sparkUpMarker = "Registered BlockManager BlockManagerId(driver"

// launchLog gathers what a driver's log tells of its start.
type launchLog struct {
	appID      string
	uiURL      string // as printed whole
	uiPort     string
	driverHost string
	up         bool // the SparkContext is up
}

func (l *launchLog) scan(line string) {
	if m := appIDPattern.FindStringSubmatch(line); m != nil && l.appID == "" {
		l.appID = m[1]
	}
	if m := uiPattern.FindStringSubmatch(line); m != nil && l.uiURL == "" && !strings.Contains(line, "Stopped") {
		l.uiURL = strings.TrimRight(m[1], ".,")
	}
	if m := uiPortPattern.FindStringSubmatch(line); m != nil && l.uiPort == "" {
		l.uiPort = m[1]
	}
	if m := driverHostPattern.FindStringSubmatch(line); m != nil && l.driverHost == "" {
		l.driverHost = m[1]
	}
	l.up = l.up || strings.Contains(line, sparkUpMarker)
}

// sparkUI is the Spark UI's URL, if the log told it.
func (l *launchLog) sparkUI() string {
	if l.uiURL != "" {
		return l.uiURL
	}
	if l.uiPort != "" && l.driverHost != "" {
		return "http://" + net.JoinHostPort(l.driverHost, l.uiPort)
	}
	return ""
}

// appIDFromUI asks a running driver's UI for its application's id (the UI's REST API lists
// the one application it serves): in local mode Spark prints no id in its log. The UI lists
// the application a moment after the SparkContext's start (longer on a loaded host), so it is
// asked again for half a minute; "" when it told nothing by then.
func appIDFromUI(ctx context.Context, ui string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if id := askUI(ctx, ui); id != "" {
			return id
		}
		select {
		case <-ctx.Done():
			return ""
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func askUI(ctx context.Context, ui string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(ui, "/")+"/api/v1/applications", nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var apps []struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&apps) != nil || len(apps) != 1 {
		return ""
	}
	return apps[0].ID
}
