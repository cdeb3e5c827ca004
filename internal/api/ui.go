package api

import (
	"context"
	"net/http"
	"time"
)

// UI is the web UI, served on the API's own routes, behind the same checks as every client.
type UI interface {
	Register(mux *http.ServeMux)
}

// StatusReport is what the UI's status page shows an operator.
type StatusReport struct {
	Version        string           `json:"version"`
	Store          string           `json:"store"`
	Instance       string           `json:"instance"`
	LaunchQueue    int              `json:"launchQueue"`
	ActiveBatches  int              `json:"activeBatches"`
	ActiveSessions int              `json:"activeSessions"`
	Instances      []InstanceStatus `json:"instances"`
}

// InstanceStatus is one instance sharing the store, with its lease.
type InstanceStatus struct {
	ID         string    `json:"id"`
	Addr       string    `json:"addr"`
	LeaseUntil time.Time `json:"leaseUntil"`
	Alive      bool      `json:"alive"`
}

// Status reports the server's status (Config.Status).
type Status func(ctx context.Context) (*StatusReport, error)

func (s *Server) uiRoutes() {
	if s.cfg.UI != nil {
		s.cfg.UI.Register(s.mux)
	}
	if s.cfg.Status != nil {
		s.handle("GET /ui/api/status", func(r *http.Request) (*reply, error) {
			report, err := s.cfg.Status(r.Context())
			if err != nil {
				return nil, err
			}
			return ok(report)
		})
	}
}
