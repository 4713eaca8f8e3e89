// Package health serves /health: 200 "OK" while the process runs.
package health

import (
	"net/http"
	"sync/atomic"
	"time"
)

// Health is the /health handler.
type Health struct {
	// Lameduck delays shutdown after /health starts failing.
	Lameduck time.Duration
	stopping atomic.Bool
}

// ServeHTTP answers 200 OK, or 503 once shutdown began.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.stopping.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("OK"))
}
