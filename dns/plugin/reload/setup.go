package reload

import (
	"time"

	"navarch.dev/dns/pkg/plugin"
)

// DefaultInterval is how often the Corefile is checked for changes.
const DefaultInterval = 30 * time.Second

// Setup parses "reload [INTERVAL]".
func Setup(c *plugin.Config, d plugin.Directive) error {
	if err := d.ArgN(0, 2); err != nil {
		return err
	}
	interval := DefaultInterval
	if len(d.Args) > 0 {
		v, err := plugin.Duration(d.Args[0])
		if err != nil || v < 100*time.Millisecond {
			return d.Errorf("bad interval %q", d.Args[0])
		}
		interval = v
	}
	c.Host.SetReload(interval)
	return nil
}
