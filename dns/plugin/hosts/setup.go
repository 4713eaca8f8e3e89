package hosts

import (
	"bytes"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"navarch.dev/dns/pkg/plugin"
)

// Setup parses
//
//	hosts [FILE [ZONES...]] {
//	    [INLINE] IP NAME...
//	    ttl SECONDS
//	    no_reverse
//	    reload DURATION
//	    fallthrough [ZONES...]
//	}
//
// FILE defaults to /etc/hosts; reload (default 5s, 0 disables) re-reads it
// when it changes.
func Setup(c *plugin.Config, d plugin.Directive) error {
	h := &Hosts{Zones: c.Zones, TTL: 3600}
	file := "/etc/hosts"
	if len(d.Args) > 0 {
		file = d.Args[0]
	}
	if len(d.Args) > 1 {
		z, err := plugin.Normalize(d.Args[1:])
		if err != nil {
			return d.Errorf("%v", err)
		}
		h.Zones = z
	}
	reload := 5 * time.Second
	var inline strings.Builder
	for _, sub := range d.Block {
		switch sub.Name {
		case "ttl":
			if len(sub.Args) != 1 {
				return sub.Errorf("want one value")
			}
			v, err := strconv.ParseUint(sub.Args[0], 10, 32)
			if err != nil {
				return sub.Errorf("%v", err)
			}
			h.TTL = uint32(v)
		case "no_reverse":
			h.NoReverse = true
		case "reload":
			if len(sub.Args) != 1 {
				return sub.Errorf("want a duration")
			}
			v, err := time.ParseDuration(sub.Args[0])
			if err != nil {
				return sub.Errorf("%v", err)
			}
			reload = v
		case "fallthrough":
			z, err := plugin.Normalize(sub.Args)
			if err != nil {
				return sub.Errorf("%v", err)
			}
			if z == nil {
				z = plugin.Zones{}
			}
			h.Fallthrough = z
		default:
			// An inline entry: the directive name is the address.
			inline.WriteString(sub.Name + " " + strings.Join(sub.Args, " ") + "\n")
		}
	}
	load := func() []byte {
		data, err := os.ReadFile(file)
		if err != nil && len(d.Args) > 0 {
			slog.Warn("hosts: read file", "file", file, "err", err)
		}
		byName, byAddr := Parse(strings.NewReader(inline.String() + string(data)))
		h.Set(byName, byAddr)
		return data
	}
	last := load()
	stop := make(chan struct{})
	c.OnStartup(func() error {
		if reload <= 0 {
			return nil
		}
		go func() {
			t := time.NewTicker(reload)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				if data, err := os.ReadFile(file); err == nil && !bytes.Equal(data, last) {
					last = load()
				}
			}
		}()
		return nil
	})
	c.OnShutdown(func() error { close(stop); return nil })
	c.AddPlugin(func(next plugin.Handler) plugin.Handler { h.Next = next; return h })
	return nil
}
