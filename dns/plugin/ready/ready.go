// Package ready serves /ready: 200 once every plugin that can be unready
// (plugin.Readiness) is ready, 503 with their names until then.
package ready

import (
	"net/http"
	"slices"
	"strings"
	"sync"

	"navarch.dev/dns/pkg/plugin"
)

// Ready is the /ready handler.
type Ready struct {
	mu      sync.Mutex
	names   []string
	plugins []plugin.Readiness
}

// Add registers a plugin to wait for.
func (r *Ready) Add(name string, p plugin.Readiness) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, name)
	r.plugins = append(r.plugins, p)
}

// ServeHTTP answers 200 "OK" when all are ready, else 503 with the names of
// those that are not, comma separated.
func (r *Ready) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	var notReady []string
	for i, p := range r.plugins {
		if !p.Ready() {
			notReady = append(notReady, r.names[i])
		}
	}
	r.mu.Unlock()
	if len(notReady) > 0 {
		slices.Sort(notReady)
		http.Error(w, strings.Join(slices.Compact(notReady), ","), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("OK"))
}
