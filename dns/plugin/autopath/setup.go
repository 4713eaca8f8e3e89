package autopath

import (
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// Setup parses "autopath [ZONES...] @PLUGIN|RESOLV-CONF": the search path
// comes from a plugin (autopath @kubernetes, which needs pods verified) or
// from the search line of a resolv.conf file, the same for all clients.
func Setup(c *plugin.Config, d plugin.Directive) error {
	if err := d.ArgN(1, -1); err != nil {
		return err
	}
	a := &AutoPath{Zones: c.Zones}
	src := d.Args[len(d.Args)-1]
	if len(d.Args) > 1 {
		z, err := plugin.Normalize(d.Args[:len(d.Args)-1])
		if err != nil {
			return d.Errorf("%v", err)
		}
		a.Zones = z
	}
	if name, ok := strings.CutPrefix(src, "@"); ok {
		c.OnStartup(func() error {
			h := c.Handler(name)
			ap, ok := h.(AutoPather)
			if !ok {
				return d.Errorf("plugin %q is not in this block or has no search path", name)
			}
			a.Search = ap.AutoPath
			return nil
		})
	} else {
		cc, err := dns.ClientConfigFromFile(src)
		if err != nil {
			return d.Errorf("%v", err)
		}
		var search []string
		for _, s := range cc.Search {
			search = append(search, dns.Fqdn(strings.ToLower(s)))
		}
		search = append(search, "")
		a.Search = func(netip.Addr) []string { return search }
	}
	c.AddPlugin(func(next plugin.Handler) plugin.Handler { a.Next = next; return a })
	return nil
}
