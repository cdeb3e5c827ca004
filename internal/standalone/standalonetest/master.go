// Package standalonetest is a stand-in for a Spark standalone Master's REST submission server
// and web UI (/json/), and for its Worker's driver logs, as far as package standalone uses
// them: for unit tests and the following benchmark.
package standalonetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
)

// Master is the stand-in. Drivers it accepted run until SetState ends them.
type Master struct {
	URL     string // both the REST server and the web UI
	srv     *httptest.Server
	handler http.Handler

	// JSONRequests and StatusRequests count GET /json/ and REST status requests.
	JSONRequests, StatusRequests atomic.Int64

	mu      sync.Mutex
	drivers map[string]string // id → state
	order   []string
	created []map[string]any // the create requests, in order
	refuse  string           // when set, creates are refused with this message
	failing bool             // when set, every request answers 503
	forget  map[string]bool  // drivers /json/ no longer lists (retained no more)
}

// New starts a stand-in Master.
func New() *Master {
	m := &Master{drivers: map[string]string{}, forget: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/submissions/create", m.create)
	mux.HandleFunc("GET /v1/submissions/status/{id}", m.status)
	mux.HandleFunc("POST /v1/submissions/kill/{id}", m.kill)
	mux.HandleFunc("GET /json/", m.json)
	mux.HandleFunc("GET /log/", m.log)
	m.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		failing := m.failing
		m.mu.Unlock()
		if failing {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	})
	m.srv = httptest.NewServer(m.handler)
	m.URL = m.srv.URL
	return m
}

// Handler serves what the stand-in serves, for a listener of the test's own.
func (m *Master) Handler() http.Handler { return m.handler }

// Close stops it.
func (m *Master) Close() { m.srv.Close() }

// Add makes a driver known in state.
func (m *Master) Add(id, state string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.drivers[id]; !ok {
		m.order = append(m.order, id)
	}
	m.drivers[id] = state
}

// SetState changes a driver's state.
func (m *Master) SetState(id, state string) { m.Add(id, state) }

// Forget drops a driver from /json/ (the REST status still knows it).
func (m *Master) Forget(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forget[id] = true
}

// Refuse makes creates fail with message ("" accepts again).
func (m *Master) Refuse(message string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refuse = message
}

// Fail makes every request answer 503 (or not).
func (m *Master) Fail(failing bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failing = failing
}

// Created returns the create requests received.
func (m *Master) Created() []map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]map[string]any(nil), m.created...)
}

// State is a driver's state ("" when unknown).
func (m *Master) State(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.drivers[id]
}

func reply(w http.ResponseWriter, v map[string]any) {
	v["serverSparkVersion"] = "4.3.0"
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (m *Master) create(w http.ResponseWriter, r *http.Request) {
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.created = append(m.created, req)
	if problem := invalid(req); problem != "" {
		reply(w, map[string]any{"action": "ErrorResponse", "success": false,
			"message": "Malformed request: org.apache.spark.deploy.rest.SubmitRestProtocolException: " + problem + "\n\tat org.apache.spark..."})
		return
	}
	if m.refuse != "" {
		reply(w, map[string]any{"action": "CreateSubmissionResponse", "success": false, "message": m.refuse})
		return
	}
	id := fmt.Sprintf("driver-20261201000000-%04d", len(m.order))
	m.order = append(m.order, id)
	m.drivers[id] = "RUNNING"
	reply(w, map[string]any{"action": "CreateSubmissionResponse", "success": true, "submissionId": id,
		"message": "Driver successfully submitted as " + id})
}

// invalid checks a create request as Spark 3.5's REST server does (CreateSubmissionRequest's
// validation); "" when it passes.
func invalid(req map[string]any) string {
	for _, field := range []string{"action", "appResource", "mainClass", "appArgs", "clientSparkVersion", "environmentVariables", "sparkProperties"} {
		if req[field] == nil {
			return "Validation of message CreateSubmissionRequest failed: " + field + " is missing"
		}
	}
	if props, _ := req["sparkProperties"].(map[string]any); props["spark.app.name"] == nil {
		return "Validation of message CreateSubmissionRequest failed: spark.app.name is missing"
	}
	return ""
}

func (m *Master) status(w http.ResponseWriter, r *http.Request) {
	m.StatusRequests.Add(1)
	id := r.PathValue("id")
	m.mu.Lock()
	state, ok := m.drivers[id]
	m.mu.Unlock()
	if !ok {
		reply(w, map[string]any{"action": "SubmissionStatusResponse", "success": false, "submissionId": id})
		return
	}
	reply(w, map[string]any{"action": "SubmissionStatusResponse", "success": true, "submissionId": id, "driverState": state,
		"workerId": "worker-1"})
}

func (m *Master) kill(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.drivers[id]; !ok {
		reply(w, map[string]any{"action": "KillSubmissionResponse", "success": false, "message": "Driver " + id + " has already finished or does not exist"})
		return
	}
	m.drivers[id] = "KILLED"
	reply(w, map[string]any{"action": "KillSubmissionResponse", "success": true, "submissionId": id})
}

func (m *Master) json(w http.ResponseWriter, r *http.Request) {
	m.JSONRequests.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	active, completed := []map[string]any{}, []map[string]any{}
	for _, id := range m.order {
		if m.forget[id] {
			continue
		}
		d := map[string]any{"id": id, "state": m.drivers[id], "worker": "worker-1", "mainclass": "Main"}
		switch m.drivers[id] {
		case "FINISHED", "FAILED", "KILLED", "ERROR":
			completed = append(completed, d)
		default:
			active = append(active, d)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"status": "ALIVE", "url": "spark://stub:7077",
		"workers":       []map[string]any{{"id": "worker-1", "webuiaddress": m.URL, "state": "ALIVE"}},
		"activedrivers": active, "completeddrivers": completed})
}

// log serves a driver's file as a Worker does: a header line, then the text.
func (m *Master) log(w http.ResponseWriter, r *http.Request) {
	id, name := r.URL.Query().Get("driverId"), r.URL.Query().Get("logType")
	text := fmt.Sprintf("%s of %s\n", name, id)
	fmt.Fprintf(w, "==== Bytes 0-%d of %d of /work/%s/%s ====\n%s", len(text), len(text), id, name, text)
}

// RequestOf returns the create request whose sparkgate tag is tag.
func (m *Master) RequestOf(tag string) map[string]any {
	for _, req := range m.Created() {
		if props, _ := req["sparkProperties"].(map[string]any); props != nil && strings.EqualFold(fmt.Sprint(props["spark.sparkgate.tag"]), tag) {
			return req
		}
	}
	return nil
}
