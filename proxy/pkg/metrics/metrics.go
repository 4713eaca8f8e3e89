// Package metrics holds the proxy's Prometheus metrics, named as upstream
// kube-proxy names them so dashboards carry over.
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the sync metrics both proxy modes report. A nil *Metrics
// records nothing.
type Metrics struct {
	SyncDuration        prometheus.Histogram
	FullSyncDuration    prometheus.Histogram
	PartialSyncDuration prometheus.Histogram
	LastSync            prometheus.Gauge
	RulesTotal          *prometheus.GaugeVec
	SyncFailures        prometheus.Counter

	mu    sync.Mutex
	rules map[ruleKey]int
}

// New creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	buckets := prometheus.ExponentialBuckets(0.001, 2, 15)
	m := &Metrics{
		SyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_duration_seconds",
			Help: "SyncProxyRules latency in seconds", Buckets: buckets,
		}),
		FullSyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "sync_full_proxy_rules_duration_seconds",
			Help: "SyncProxyRules latency in seconds for full resyncs", Buckets: buckets,
		}),
		PartialSyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Subsystem: "kubeproxy", Name: "sync_partial_proxy_rules_duration_seconds",
			Help: "SyncProxyRules latency in seconds for partial resyncs", Buckets: buckets,
		}),
		LastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_last_timestamp_seconds",
			Help: "The last time proxy rules were successfully synced",
		}),
		RulesTotal: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_iptables_total",
			Help: "Total number of iptables rules owned by kube-proxy",
		}, []string{"table"}),
		SyncFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Subsystem: "kubeproxy", Name: "sync_proxy_rules_iptables_restore_failures_total",
			Help: "Cumulative proxy iptables restore failures",
		}),
	}
	reg.MustRegister(m.SyncDuration, m.FullSyncDuration, m.PartialSyncDuration, m.LastSync, m.RulesTotal, m.SyncFailures)
	return m
}

// Synced records a successful sync that took d.
func (m *Metrics) Synced(full bool, d time.Duration) {
	if m == nil {
		return
	}
	m.SyncDuration.Observe(d.Seconds())
	if full {
		m.FullSyncDuration.Observe(d.Seconds())
	} else {
		m.PartialSyncDuration.Observe(d.Seconds())
	}
	m.LastSync.SetToCurrentTime()
}

// Failed records a failed sync.
func (m *Metrics) Failed() {
	if m != nil {
		m.SyncFailures.Inc()
	}
}

// Rules records how many rules the proxy owns in table. A dual-stack proxy
// calls it for both families (ipv6 set for ip6tables); the metric is their
// sum.
func (m *Metrics) Rules(ipv6 bool, table string, n int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rules == nil {
		m.rules = map[ruleKey]int{}
	}
	m.rules[ruleKey{ipv6, table}] = n
	m.RulesTotal.WithLabelValues(table).Set(float64(m.rules[ruleKey{false, table}] + m.rules[ruleKey{true, table}]))
}

type ruleKey struct {
	ipv6  bool
	table string
}
