package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the scheduler's Prometheus metrics, named as upstream's.
type Metrics struct {
	attempts        *prometheus.CounterVec
	attemptDuration *prometheus.HistogramVec
	e2eDuration     *prometheus.HistogramVec
	podDuration     *prometheus.HistogramVec
	pending         *prometheus.GaugeVec
	preemption      prometheus.Counter
}

// NewMetrics registers the metrics on reg (nil: not exported).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	buckets := prometheus.ExponentialBuckets(0.001, 2, 15)
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scheduler_schedule_attempts_total",
			Help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
		}, []string{"result", "profile"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "scheduler_scheduling_attempt_duration_seconds", Buckets: buckets,
			Help: "Scheduling attempt latency in seconds (scheduling algorithm + binding).",
		}, []string{"result", "profile"}),
		e2eDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "scheduler_e2e_scheduling_duration_seconds", Buckets: buckets,
			Help: "E2e scheduling latency in seconds (from the pod's first attempt to its binding).",
		}, []string{"result", "profile"}),
		podDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "scheduler_pod_scheduling_sli_duration_seconds", Buckets: prometheus.ExponentialBuckets(0.01, 2, 20),
			Help: "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue to its binding, by the number of attempts it took.",
		}, []string{"attempts"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scheduler_pending_pods",
			Help: "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods; 'gated' means number of pods held by scheduling gates.",
		}, []string{"queue"}),
		preemption: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scheduler_preemption_attempts_total",
			Help: "Total preemption attempts in the cluster till now.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.attemptDuration, m.e2eDuration, m.podDuration, m.pending, m.preemption)
	}
	return m
}

// SetPending implements queue.Metrics.
func (m *Metrics) SetPending(queue string, n int) { m.pending.WithLabelValues(queue).Set(float64(n)) }
