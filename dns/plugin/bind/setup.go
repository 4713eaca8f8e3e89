package bind

import (
	"net/netip"

	"navarch.dev/dns/pkg/plugin"
)

// Setup parses "bind ADDRESS...".
func Setup(c *plugin.Config, d plugin.Directive) error {
	if err := d.ArgN(1, -1); err != nil {
		return err
	}
	for _, a := range d.Args {
		if _, err := netip.ParseAddr(a); err != nil {
			return d.Errorf("not an IP address: %q", a)
		}
		c.ListenHosts = append(c.ListenHosts, a)
	}
	return nil
}
