package cache

import (
	"strconv"
	"strings"
	"time"

	"navarch.dev/dns/pkg/plugin"
)

// Setup parses
//
//	cache [TTL] [ZONES...] {
//	    success CAPACITY [TTL] [MINTTL]
//	    denial CAPACITY [TTL] [MINTTL]
//	    prefetch AMOUNT [[DURATION] [PERCENTAGE%]]
//	}
//
// TTL caps both kinds of entries; ZONES default to the block's zones.
func Setup(c *plugin.Config, d plugin.Directive) error {
	ca := New()
	ca.Zones = c.Zones
	args := d.Args
	if len(args) > 0 {
		if v, err := strconv.Atoi(args[0]); err == nil {
			if v <= 0 {
				return d.Errorf("TTL must be positive: %d", v)
			}
			ca.Success.MaxTTL = time.Duration(v) * time.Second
			ca.Denial.MaxTTL = ca.Success.MaxTTL
			args = args[1:]
		}
	}
	if len(args) > 0 {
		z, err := plugin.Normalize(args)
		if err != nil {
			return d.Errorf("%v", err)
		}
		ca.Zones = z
	}
	for _, sub := range d.Block {
		switch sub.Name {
		case "success", "denial":
			p := &ca.Success
			if sub.Name == "denial" {
				p = &ca.Denial
			}
			if len(sub.Args) < 1 || len(sub.Args) > 3 {
				return sub.Errorf("want CAPACITY [TTL] [MINTTL]")
			}
			n, err := strconv.Atoi(sub.Args[0])
			if err != nil || n <= 0 {
				return sub.Errorf("bad capacity %q", sub.Args[0])
			}
			p.Capacity = n
			if len(sub.Args) > 1 {
				v, err := strconv.Atoi(sub.Args[1])
				if err != nil || v <= 0 {
					return sub.Errorf("bad TTL %q", sub.Args[1])
				}
				p.MaxTTL = time.Duration(v) * time.Second
			}
			if len(sub.Args) > 2 {
				v, err := strconv.Atoi(sub.Args[2])
				if err != nil || v < 0 {
					return sub.Errorf("bad minimum TTL %q", sub.Args[2])
				}
				p.MinTTL = time.Duration(v) * time.Second
			}
		case "prefetch":
			if len(sub.Args) < 1 || len(sub.Args) > 3 {
				return sub.Errorf("want AMOUNT [[DURATION] [PERCENTAGE%%]]")
			}
			n, err := strconv.Atoi(sub.Args[0])
			if err != nil || n <= 0 {
				return sub.Errorf("bad amount %q", sub.Args[0])
			}
			ca.PrefetchAmount = n
			for _, a := range sub.Args[1:] {
				if strings.HasSuffix(a, "%") {
					p, err := strconv.Atoi(strings.TrimSuffix(a, "%"))
					if err != nil || p < 10 || p > 90 {
						return sub.Errorf("bad percentage %q (10%%-90%%)", a)
					}
					ca.PrefetchPercent = p
					continue
				}
				v, err := plugin.Duration(a)
				if err != nil || v < time.Second {
					return sub.Errorf("bad duration %q", a)
				}
				ca.PrefetchWindow = v
			}
		default:
			return sub.Errorf("unknown property")
		}
	}
	ca.init()
	plugin.Register(c.Host.Registry(), Collectors...)
	c.AddPlugin(func(next plugin.Handler) plugin.Handler { ca.Next = next; return ca })
	return nil
}
