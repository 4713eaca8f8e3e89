package health

import (
	"net"
	"time"

	"navarch.dev/dns/pkg/plugin"
)

// DefaultAddress is where /health is served.
const DefaultAddress = ":8080"

// Setup parses
//
//	health [ADDRESS] {
//	    lameduck DURATION
//	}
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
	h := &Health{}
	for _, sub := range d.Block {
		switch sub.Name {
		case "lameduck":
			if len(sub.Args) != 1 {
				return sub.Errorf("want one duration")
			}
			v, err := time.ParseDuration(sub.Args[0])
			if err != nil {
				return sub.Errorf("bad duration: %v", err)
			}
			h.Lameduck = v
		default:
			return sub.Errorf("unknown property")
		}
	}
	c.Host.Handle(addr, "/health", h)
	c.OnShutdown(func() error {
		// Keep answering (unhealthy) for a while so that load balancers
		// notice before the DNS listeners go away.
		h.stopping.Store(true)
		if h.Lameduck > 0 {
			time.Sleep(h.Lameduck)
		}
		return nil
	})
	return nil
}
