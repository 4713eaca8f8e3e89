package metrics

import (
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"navarch.dev/dns/pkg/plugin"
)

// DefaultAddress is where /metrics is served.
const DefaultAddress = ":9153"

// Setup parses "prometheus [ADDRESS]".
func Setup(c *plugin.Config, d plugin.Directive) error {
	if err := d.ArgN(0, 1); err != nil {
		return err
	}
	addr := DefaultAddress
	if len(d.Args) == 1 {
		addr = d.Args[0]
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return d.Errorf("bad address %q: %v", addr, err)
		}
	}
	reg := c.Host.Registry()
	plugin.Register(reg, RequestCount, ResponseCount, RequestDuration, ResponseSize)
	c.Host.Handle(addr, "/metrics", Handler(reg))
	c.AddPlugin(func(next plugin.Handler) plugin.Handler { return &Metrics{Next: next} })
	return nil
}

// Handler serves reg together with Go runtime and process metrics.
func Handler(reg *prometheus.Registry) http.Handler {
	rt := prometheus.NewRegistry()
	rt.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(prometheus.Gatherers{rt, reg}, promhttp.HandlerOpts{})
}
