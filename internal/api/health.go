package api

import (
	"context"
	"net/http"
	"time"

	"github.com/sparkgate/sparkgate/internal/livy"
)

// Health: /healthz says the process answers, /readyz that it can serve (its checks pass).
// Both are cheap, unauthenticated and answered before the Host check, so that a load balancer
// or a Kubernetes probe, which addresses the server by its IP, can ask.

// Readiness checks what the server needs to serve: each check's name and its problem, empty
// when it passes.
type Readiness interface {
	Check(ctx context.Context) map[string]string
}

const (
	pathHealthz = "/healthz"
	pathReadyz  = "/readyz"
)

type healthAnswer struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// serveHealth answers the two health routes; it reports whether r was one.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != pathHealthz && r.URL.Path != pathReadyz {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, livy.Message{Msg: "method " + r.Method + " is not allowed on " + r.URL.Path})
		return true
	}
	if r.URL.Path == pathHealthz || s.cfg.Readiness == nil {
		writeJSON(w, http.StatusOK, healthAnswer{Status: "ok"})
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := s.cfg.Readiness.Check(ctx)
	answer, status := healthAnswer{Status: "ready", Checks: map[string]string{}}, http.StatusOK
	for name, problem := range checks {
		answer.Checks[name] = "ok"
		if problem != "" {
			answer.Checks[name], answer.Status, status = problem, "not ready", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, status, answer)
	return true
}
