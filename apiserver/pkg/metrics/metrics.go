// Package metrics defines the apiserver's Prometheus metrics, with upstream's
// names so existing dashboards work.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the apiserver's collectors.
type Metrics struct {
	Registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	etcdLatency *prometheus.HistogramVec
	watchers    *prometheus.GaugeVec
	longrunning *prometheus.GaugeVec
}

// New registers the collectors in a new registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out for each verb, group, version, resource, subresource and HTTP response code.",
		}, []string{"verb", "group", "version", "resource", "subresource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency distribution in seconds for each verb, group, version, resource and subresource.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		}, []string{"verb", "group", "version", "resource", "subresource"}),
		etcdLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "etcd_request_duration_seconds",
			Help:    "Etcd request latency in seconds for each operation and object type.",
			Buckets: []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60},
		}, []string{"operation", "type"}),
		watchers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_registered_watchers",
			Help: "Number of currently registered watchers for a given resource.",
		}, []string{"resource"}),
		longrunning: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_longrunning_requests",
			Help: "Gauge of all active long-running apiserver requests broken out by verb and resource.",
		}, []string{"verb", "resource"}),
	}
	m.Registry.MustRegister(m.requests, m.latency, m.etcdLatency, m.watchers, m.longrunning,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest records one finished request.
func (m *Metrics) ObserveRequest(verb, group, version, resource, subresource string, code int, d time.Duration) {
	m.requests.WithLabelValues(verb, group, version, resource, subresource, strconv.Itoa(code)).Inc()
	if verb != "watch" {
		m.latency.WithLabelValues(verb, group, version, resource, subresource).Observe(d.Seconds())
	}
}

// ObserveEtcd records one etcd request of the given resource type.
func (m *Metrics) ObserveEtcd(operation, typ string, d time.Duration) {
	m.etcdLatency.WithLabelValues(operation, typ).Observe(d.Seconds())
}

// Watchers changes the count of registered watchers of resource by delta.
func (m *Metrics) Watchers(resource string, delta int) {
	m.watchers.WithLabelValues(resource).Add(float64(delta))
	m.longrunning.WithLabelValues("WATCH", resource).Add(float64(delta))
}
