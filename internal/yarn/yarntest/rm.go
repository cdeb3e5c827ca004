// Package yarntest is a stand-in for a ResourceManager's REST API (the part package yarn
// uses), for unit tests and benchmarks that need many applications: it lists applications by
// tag and state, kills them, counts requests, and can be made unreachable.
package yarntest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sparkgate/sparkgate/internal/yarn"
)

// RM is a stub ResourceManager (and the NodeManager that serves container logs) on a loopback
// port. ContainerLogs is the amContainerLogs link of a container there.
type RM struct {
	*httptest.Server
	mu       sync.Mutex
	apps     []*yarn.Application
	requests atomic.Int64
	down     atomic.Bool
	logs     map[string][]byte // container/file: what the NodeManager serves of it
	logURLs  []string          // the requests for container logs, path and query
}

// New starts a stub RM; it is closed when the caller calls Close.
func New() *RM {
	rm := &RM{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws/v1/cluster/apps", rm.list)
	mux.HandleFunc("PUT /ws/v1/cluster/apps/{id}/state", rm.kill)
	// what a stand-in spark-submit calls to submit (not the RM's API): a running application
	// with the tags given, whose id is the answer
	mux.HandleFunc("POST /stub/submit", func(w http.ResponseWriter, r *http.Request) {
		rm.mu.Lock()
		id := fmt.Sprintf("application_1_%04d", len(rm.apps)+1)
		rm.mu.Unlock()
		a := yarn.Application{ID: id, State: "RUNNING", FinalStatus: "UNDEFINED", ApplicationTags: r.URL.Query().Get("tags"),
			TrackingURL: rm.URL + "/proxy/" + id + "/", AMContainerLogs: rm.ContainerLogs("container_" + id)}
		rm.Add(a)
		w.Write([]byte(id))
	})
	// the NodeManager's part: every container's files say what they are, unless set; size=-N
	// asks for the last N bytes, size=N for the first N (YARN-5088)
	mux.HandleFunc("GET /ws/v1/node/containerlogs/{container}/{file}", func(w http.ResponseWriter, r *http.Request) {
		rm.mu.Lock()
		rm.logURLs = append(rm.logURLs, r.URL.RequestURI())
		content, ok := rm.logs[r.PathValue("container")+"/"+r.PathValue("file")]
		rm.mu.Unlock()
		if !ok {
			content = []byte(r.PathValue("file") + " of " + r.PathValue("container") + "\n")
		}
		if size, err := strconv.ParseInt(r.URL.Query().Get("size"), 10, 64); err == nil && size < 0 {
			content = content[max(0, int64(len(content))+size):]
		} else if err == nil {
			content = content[:min(size, int64(len(content)))]
		}
		w.Write(content)
	})
	rm.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rm.requests.Add(1)
		if rm.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	return rm
}

// ContainerLogs is the RM's link to the logs of container, served by this stub.
func (rm *RM) ContainerLogs(container string) string {
	return rm.URL + "/node/containerlogs/" + container + "/user"
}

// ServeContainerLog makes the NodeManager serve content as file (stdout, stderr) of container.
func (rm *RM) ServeContainerLog(container, file string, content []byte) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.logs == nil {
		rm.logs = map[string][]byte{}
	}
	rm.logs[container+"/"+file] = content
}

// ContainerLogRequests are the requests the NodeManager was sent for container logs (path and
// query), in order.
func (rm *RM) ContainerLogRequests() []string {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return slices.Clone(rm.logURLs)
}

// Add makes the RM know a (its ApplicationTags as the RM keeps them: comma-separated).
func (rm *RM) Add(a yarn.Application) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.apps = append(rm.apps, &a)
}

// Set changes the state and final status of application id.
func (rm *RM) Set(id, state, finalStatus, diagnostics string) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for _, a := range rm.apps {
		if a.ID == id {
			a.State, a.FinalStatus, a.Diagnostics = state, finalStatus, diagnostics
		}
	}
}

// App returns application id as the RM knows it now.
func (rm *RM) App(id string) yarn.Application {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for _, a := range rm.apps {
		if a.ID == id {
			return *a
		}
	}
	return yarn.Application{}
}

// Requests is how many requests the RM was sent.
func (rm *RM) Requests() int64 { return rm.requests.Load() }

// Down makes the RM answer 503 to everything (true) or serve again (false).
func (rm *RM) Down(down bool) { rm.down.Store(down) }

func (rm *RM) list(w http.ResponseWriter, r *http.Request) {
	tags := splitNonEmpty(r.URL.Query().Get("applicationTags"))
	states := splitNonEmpty(r.URL.Query().Get("states"))
	rm.mu.Lock()
	var out []yarn.Application
	for _, a := range rm.apps {
		if len(states) > 0 && !slices.Contains(states, a.State) {
			continue
		}
		if len(tags) > 0 && !slices.ContainsFunc(a.Tags(), func(t string) bool { return slices.Contains(tags, t) }) {
			continue
		}
		out = append(out, *a)
	}
	rm.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if len(out) == 0 {
		w.Write([]byte(`{"apps":null}`))
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"apps": map[string]any{"app": out}})
}

func (rm *RM) kill(w http.ResponseWriter, r *http.Request) {
	var body struct{ State string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.State != "KILLED" {
		http.Error(w, "bad state", http.StatusBadRequest)
		return
	}
	rm.Set(r.PathValue("id"), "KILLED", "KILLED", "Application killed by user.")
	w.WriteHeader(http.StatusAccepted)
	w.Write([]byte(`{"state":"ACCEPTED"}`))
}

func splitNonEmpty(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
