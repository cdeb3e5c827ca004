package server

import (
	"context"
	"fmt"
	"time"

	"github.com/sparkgate/sparkgate/internal/api"
	"github.com/sparkgate/sparkgate/internal/batch"
	"github.com/sparkgate/sparkgate/internal/store"
	"github.com/sparkgate/sparkgate/internal/version"
)

// statusOf reports what the UI's status page shows: the instances sharing the store and their
// leases, this instance's launch queue, the unfinished applications and the store's kind.
func statusOf(st store.Store, storeName, instanceID string, batches *batch.Manager) api.Status {
	return func(ctx context.Context) (*api.StatusReport, error) {
		report := &api.StatusReport{Version: version.Get().Version, Store: storeName, Instance: instanceID,
			LaunchQueue: batches.Queued(), Instances: []api.InstanceStatus{}}
		for kind, n := range map[store.Kind]*int{store.KindBatch: &report.ActiveBatches, store.KindInteractive: &report.ActiveSessions} {
			active, err := st.ListActive(ctx, kind)
			if err != nil {
				return nil, fmt.Errorf("status: %w", err)
			}
			*n = len(active)
		}
		instances, err := st.ListInstances(ctx)
		if err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		now := time.Now()
		for _, inst := range instances {
			report.Instances = append(report.Instances, api.InstanceStatus{ID: inst.ID, Addr: inst.Addr, LeaseUntil: inst.LeaseUntil.UTC(),
				Alive: inst.LeaseUntil.After(now)})
		}
		return report, nil
	}
}
