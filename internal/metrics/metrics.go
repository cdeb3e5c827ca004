// Package metrics owns sparkgate's Prometheus metrics: what the API and the session managers
// count, registered on one registry that GET /metrics serves.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the instruments; a nil *Metrics records nothing (for tests of one piece).
type Metrics struct {
	registry        *prometheus.Registry
	Requests        *prometheus.CounterVec
	RequestDuration *prometheus.HistogramVec
	Creates         *prometheus.CounterVec
	Launches        prometheus.Counter
	Finished        *prometheus.CounterVec
	QueueDepth      prometheus.Gauge
	Adopted         prometheus.Counter
	ClusterRequests *prometheus.CounterVec
	AuthAttempts    *prometheus.CounterVec
}

// New registers every metric, with Go runtime and process metrics, on a fresh registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		registry: r,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sparkgate_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "code"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sparkgate_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		Creates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sparkgate_session_creates_total", Help: "Session creates by kind and outcome (created, replayed).",
		}, []string{"kind", "outcome"}),
		Launches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sparkgate_launches_total", Help: "Supervisors started for Spark applications.",
		}),
		Finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sparkgate_sessions_finished_total", Help: "Sessions that reached a final state, by state.",
		}, []string{"state"}),
		QueueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sparkgate_launch_queue_depth", Help: "Launches waiting for a free launch slot.",
		}),
		Adopted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sparkgate_sessions_adopted_total", Help: "Sessions adopted from instances whose lease expired.",
		}),
		ClusterRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sparkgate_cluster_manager_requests_total", Help: "Requests to the cluster manager's API (YARN's ResourceManager) by outcome (ok, error).",
		}, []string{"outcome"}),
		AuthAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sparkgate_auth_attempts_total", Help: "Requests authenticated, by outcome (ok, no_credentials, bad_credentials, limited, unavailable).",
		}, []string{"outcome"}),
	}
	r.MustRegister(m.Requests, m.RequestDuration, m.Creates, m.Launches, m.Finished, m.QueueDepth, m.Adopted, m.ClusterRequests, m.AuthAttempts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
