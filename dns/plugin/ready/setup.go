package ready

import (
	"net"

	"navarch.dev/dns/pkg/plugin"
)

// DefaultAddress is where /ready is served.
const DefaultAddress = ":8181"

// Setup parses "ready [ADDRESS]".
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
	r := &Ready{}
	c.OnStartup(func() error {
		// Every block's chain is built by now.
		for _, h := range c.Host.Handlers() {
			if rd, ok := h.(plugin.Readiness); ok {
				r.Add(h.Name(), rd)
			}
		}
		return nil
	})
	c.Host.Handle(addr, "/ready", r)
	return nil
}
