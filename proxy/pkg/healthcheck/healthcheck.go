// Package healthcheck serves the proxy's /healthz on port 10256 as upstream
// kube-proxy does: 200 while rules are being synced in time, 503 when an
// update has waited too long, with a JSON body naming the last update.
package healthcheck

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// ProxyHealth tracks whether queued updates reach the kernel in time.
type ProxyHealth struct {
	timeout time.Duration
	now     func() time.Time

	mu sync.Mutex
	// oldestPending is when the oldest update not yet synced was queued.
	oldestPending time.Time
	lastUpdated   time.Time
}

// New returns a ProxyHealth that turns unhealthy when an update has waited
// longer than timeout (upstream uses twice the sync period).
func New(timeout time.Duration) *ProxyHealth {
	return &ProxyHealth{timeout: timeout, now: time.Now}
}

// QueuedUpdate records that a change is waiting for a sync.
func (h *ProxyHealth) QueuedUpdate() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.oldestPending.IsZero() {
		h.oldestPending = h.now()
	}
}

// Updated records a successful sync: every queued change is in the kernel.
func (h *ProxyHealth) Updated() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastUpdated = h.now()
	h.oldestPending = time.Time{}
}

// Healthy reports whether no update has waited longer than the timeout, and
// the last successful sync.
func (h *ProxyHealth) Healthy() (bool, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.oldestPending.IsZero() {
		return true, h.lastUpdated
	}
	return h.now().Sub(h.oldestPending) <= h.timeout, h.lastUpdated
}

// Check is Healthy as an error, for component health checks.
func (h *ProxyHealth) Check() error {
	if ok, _ := h.Healthy(); !ok {
		return errStale
	}
	return nil
}

type staleError struct{}

func (staleError) Error() string { return "healthcheck: proxy rules are not being synced in time" }

var errStale = staleError{}

type body struct {
	LastUpdated  string `json:"lastUpdated"`
	CurrentTime  string `json:"currentTime"`
	NodeEligible *bool  `json:"nodeEligible,omitempty"`
}

// Handler serves /healthz and /livez.
func (h *ProxyHealth) Handler() http.Handler {
	mux := http.NewServeMux()
	serve := func(w http.ResponseWriter, r *http.Request) {
		ok, last := h.Healthy()
		eligible := true
		b, _ := json.Marshal(body{LastUpdated: last.String(), CurrentTime: h.now().String(), NodeEligible: &eligible})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if ok {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write(b)
	}
	mux.HandleFunc("/healthz", serve)
	mux.HandleFunc("/livez", serve)
	return mux
}
