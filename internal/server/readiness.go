package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"time"

	"github.com/sparkgate/sparkgate/internal/store"
)

// readiness is what /readyz checks: the store answers and holds this instance's lease, the
// launcher can start applications, and the server is not shutting down.
type readiness struct {
	store      store.Store
	instanceID string
	// sparkSubmit is the program launches run ("" where none runs here: the standalone
	// Master's REST server takes the drivers); appsDir where they write.
	sparkSubmit, appsDir string
	draining             atomic.Bool
}

func (r *readiness) Check(ctx context.Context) map[string]string {
	checks := map[string]string{"store": "", "lease": "", "launcher": "", "serving": ""}
	switch inst, err := r.store.GetInstance(ctx, r.instanceID); {
	case err != nil:
		checks["store"], checks["lease"] = fmt.Sprintf("the store does not answer: %v", err), "unknown while the store does not answer"
	case !inst.LeaseUntil.After(time.Now()):
		checks["lease"] = fmt.Sprintf("this instance's lease ended at %s: its peers may adopt its sessions", inst.LeaseUntil.UTC().Format(time.RFC3339))
	}
	if r.sparkSubmit != "" {
		if _, err := exec.LookPath(r.sparkSubmit); err != nil {
			checks["launcher"] = fmt.Sprintf("spark-submit cannot be run: %v", err)
		}
	}
	if info, err := os.Stat(r.appsDir); err != nil || !info.IsDir() {
		checks["launcher"] = fmt.Sprintf("the applications' directory %s is missing", r.appsDir)
	}
	if r.draining.Load() {
		checks["serving"] = "shutting down: in-flight requests finish, new ones go to a peer"
	}
	return checks
}
