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
	return context.WithValue(ctx, serverKey{}, ServerInfo{Server: server, Zone: zone})
}

// Server returns the ServerInfo in ctx (empty outside a server).
func Server(ctx context.Context) ServerInfo {
	si, _ := ctx.Value(serverKey{}).(ServerInfo)
	return si
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
