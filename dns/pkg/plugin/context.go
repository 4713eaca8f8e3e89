package plugin

import (
	"context"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

type serverKey struct{}

// ServerInfo names the server ("dns://host:port") and zone a query arrived
// on, for metric labels.
type ServerInfo struct {
	Server string
	Zone   string
}

// WithServer returns ctx carrying the server and zone of the chain.
func WithServer(ctx context.Context, server, zone string) context.Context {
	return context.WithValue(ctx, serverKey{}, &ServerInfo{Server: server, Zone: zone})
}

var noServer = &ServerInfo{}

// Server returns the ServerInfo in ctx (empty outside a server).
func Server(ctx context.Context) ServerInfo { return *ServerRef(ctx) }

// ServerRef returns the ServerInfo in ctx. The pointer is the same for
// every query of one zone of one server (and never nil), so plugins may
// key per-zone state such as resolved metric labels by it.
func ServerRef(ctx context.Context) *ServerInfo {
	if si, ok := ctx.Value(serverKey{}).(*ServerInfo); ok {
		return si
	}
	return noServer
}

// PanicsTotal counts queries whose handling panicked.
var PanicsTotal = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: "coredns",
	Name:      "panics_total",
	Help:      "A metrics that counts the number of panics.",
})

// Lower is strings.ToLower for DNS names, not allocating when already lower.
func Lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
