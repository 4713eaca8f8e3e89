package forward

import (
	"net"
	"os"
	"strconv"
	"time"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// Setup parses
//
//	forward FROM TO... {
//	    except ZONES...
//	    policy random|round_robin|sequential
//	    max_fails N
//	    health_check DURATION
//	    force_tcp
//	    prefer_udp
//	    expire DURATION   (accepted; UDP sockets are shared, not expired)
//	}
//
// TO is an address with an optional port (default 53), or a resolv.conf
// file whose nameservers are used.
func Setup(c *plugin.Config, d plugin.Directive) error {
	if err := d.ArgN(2, -1); err != nil {
		return err
	}
	from, err := plugin.Normalize(d.Args[:1])
	if err != nil {
		return d.Errorf("%v", err)
	}
	var upstreams []string
	for _, to := range d.Args[1:] {
		us, err := parseTo(to)
		if err != nil {
			return d.Errorf("%v", err)
		}
		upstreams = append(upstreams, us...)
	}
	if len(upstreams) == 0 {
		return d.Errorf("no upstreams")
	}
	f := New(from[0], upstreams)
	for _, sub := range d.Block {
		switch sub.Name {
		case "except":
			z, err := plugin.Normalize(sub.Args)
			if err != nil {
				return sub.Errorf("%v", err)
			}
			f.Except = append(f.Except, z...)
		case "policy":
			if len(sub.Args) != 1 || (sub.Args[0] != PolicyRandom && sub.Args[0] != PolicyRoundRobin && sub.Args[0] != PolicySequential) {
				return sub.Errorf("want random, round_robin or sequential")
			}
			f.Policy = sub.Args[0]
		case "max_fails":
			if len(sub.Args) != 1 {
				return sub.Errorf("want a number")
			}
			n, err := strconv.ParseUint(sub.Args[0], 10, 32)
			if err != nil {
				return sub.Errorf("%v", err)
			}
			f.MaxFails = uint32(n)
		case "health_check":
			if len(sub.Args) < 1 {
				return sub.Errorf("want a duration")
			}
			v, err := time.ParseDuration(sub.Args[0])
			if err != nil {
				return sub.Errorf("%v", err)
			}
			f.HealthCheck = v
		case "force_tcp":
			f.ForceTCP = true
		case "prefer_udp":
			f.PreferUDP = true
		case "expire":
		default:
			return sub.Errorf("unknown property")
		}
	}
	plugin.Register(c.Host.Registry(), Collectors...)
	c.OnStartup(func() error { f.Start(); return nil })
	c.OnShutdown(func() error { f.Stop(); return nil })
	c.AddPlugin(func(next plugin.Handler) plugin.Handler { f.Next = next; return f })
	return nil
}

// parseTo turns one TO argument into upstream addresses.
func parseTo(to string) ([]string, error) {
	if _, err := os.Stat(to); err == nil {
		cc, err := dns.ClientConfigFromFile(to)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, s := range cc.Servers {
			out = append(out, net.JoinHostPort(s, cc.Port))
		}
		return out, nil
	}
	to = trimScheme(to)
	if _, _, err := net.SplitHostPort(to); err == nil {
		return []string{to}, nil
	}
	if net.ParseIP(to) == nil {
		return nil, &net.AddrError{Err: "not an IP address or file", Addr: to}
	}
	return []string{net.JoinHostPort(to, "53")}, nil
}

func trimScheme(s string) string {
	if len(s) > 6 && s[:6] == "dns://" {
		return s[6:]
	}
	return s
}
