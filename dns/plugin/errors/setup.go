package errors

import (
	"navarch.dev/dns/pkg/plugin"
)

// Setup parses "errors" (no arguments).
func Setup(c *plugin.Config, d plugin.Directive) error {
	if err := d.ArgN(0, 1); err != nil {
		return err
	}
	c.AddPlugin(func(next plugin.Handler) plugin.Handler { return &Errors{Next: next} })
	return nil
}
