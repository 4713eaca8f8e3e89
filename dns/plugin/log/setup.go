package log

import (
	"navarch.dev/dns/pkg/plugin"
)

// Setup parses "log" (no arguments: every query is logged).
func Setup(c *plugin.Config, d plugin.Directive) error {
	if err := d.ArgN(0, 0); err != nil {
		return err
	}
	c.AddPlugin(func(next plugin.Handler) plugin.Handler { return &Log{Next: next} })
	return nil
}
