package batch

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sparkgate/sparkgate/internal/launcher"
)

var (
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

// launchLog gathers what a driver's log tells of its start. The log holds the application's
// own output too, so what it tells of the UI is a list of candidates, each checked with the UI
// itself (appIDFromUI); no application id is ever taken from the log.
type launchLog struct {
	uiURLs      []string // as printed whole
	uiPorts     []string
	driverHosts []string
	up          bool // the SparkContext is up
}

// maxCandidates bounds what the log may propose of each kind.
const maxCandidates = 4

func addCandidate(list []string, v string) []string {
	if len(list) >= maxCandidates || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

func (l *launchLog) scan(line string) {
	if m := uiPattern.FindStringSubmatch(line); m != nil && !strings.Contains(line, "Stopped") {
		l.uiURLs = addCandidate(l.uiURLs, strings.TrimRight(m[1], ".,"))
	}
	if m := uiPortPattern.FindStringSubmatch(line); m != nil {
		l.uiPorts = addCandidate(l.uiPorts, m[1])
	}
	if m := driverHostPattern.FindStringSubmatch(line); m != nil {
		l.driverHosts = addCandidate(l.driverHosts, m[1])
	}
	l.up = l.up || strings.Contains(line, sparkUpMarker)
}

// uiCandidates are the Spark UI URLs the log proposes: printed whole (Spark 3), or a port and
// the driver's host printed apart (Spark 4).
func (l *launchLog) uiCandidates() []string {
	out := slices.Clone(l.uiURLs)
	for _, port := range l.uiPorts {
		for _, host := range l.driverHosts {
			out = append(out, "http://"+net.JoinHostPort(host, port))
		}
	}
	return out
}

// appIDFromUI asks the candidate UIs for their application (a UI's REST API lists the one it
// serves) and returns the id and UI of the one that carries tag: a job that prints look-alikes
// of Spark's lines proposes UIs of its choosing, whose ids are never taken. A UI lists its
// application a moment after the SparkContext's start (longer on a loaded host), so the
// candidates are asked again for two minutes, each request given 10 s (a UI on a loaded host
// answers in seconds); "" when none told by then.
func appIDFromUI(ctx context.Context, candidates []string, tag string) (id, ui string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		for _, c := range candidates {
			if id := askUI(ctx, c, tag); id != "" {
				return id, c
			}
		}
		select {
		case <-ctx.Done():
			return "", ""
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func askUI(ctx context.Context, ui, tag string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	base := strings.TrimRight(ui, "/") + "/api/v1/applications"
	var apps []struct {
		ID string `json:"id"`
	}
	if !getJSON(ctx, base, &apps) || len(apps) != 1 {
		return ""
	}
	var env struct {
		SparkProperties [][]string `json:"sparkProperties"`
	}
	if !getJSON(ctx, base+"/"+url.PathEscape(apps[0].ID)+"/environment", &env) {
		return ""
	}
	for _, kv := range env.SparkProperties {
		if len(kv) == 2 && kv[0] == launcher.TagConf && kv[1] == tag {
			return apps[0].ID
		}
	}
	return "" // another application's UI
}

func getJSON(ctx context.Context, u string, v any) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}
