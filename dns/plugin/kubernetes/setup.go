package kubernetes

import (
	"context"
	"strconv"

	"k8s.io/client-go/kubernetes"

	"navarch.dev/dns/pkg/plugin"
)

// DefaultTTL is the TTL of answers without a "ttl" property.
const DefaultTTL = 5

// Setup parses
//
//	kubernetes [ZONES...] {
//	    kubeconfig PATH
//	    pods disabled|insecure|verified
//	    endpoint_pod_names
//	    ttl SECONDS
//	    fallthrough [ZONES...]
//	}
//
// ZONES default to the server block's zones.
func Setup(c *plugin.Config, d plugin.Directive) error {
	k := &Kubernetes{TTL: DefaultTTL, Pods: PodsDisabled, Zones: c.Zones}
	if len(d.Args) > 0 {
		z, err := plugin.Normalize(d.Args)
		if err != nil {
			return d.Errorf("%v", err)
		}
		k.Zones = z
	}
	kubeconfig := ""
	for _, sub := range d.Block {
		switch sub.Name {
		case "kubeconfig":
			if len(sub.Args) < 1 {
				return sub.Errorf("want a path")
			}
			kubeconfig = sub.Args[0]
		case "pods":
			if len(sub.Args) != 1 || (sub.Args[0] != PodsDisabled && sub.Args[0] != PodsInsecure && sub.Args[0] != PodsVerified) {
				return sub.Errorf("want disabled, insecure or verified")
			}
			k.Pods = sub.Args[0]
		case "endpoint_pod_names":
			k.EndpointPodNames = true
		case "ttl":
			if len(sub.Args) != 1 {
				return sub.Errorf("want one value")
			}
			v, err := strconv.ParseUint(sub.Args[0], 10, 32)
			if err != nil || v > 3600 {
				return sub.Errorf("bad ttl %q (0-3600)", sub.Args[0])
			}
			k.TTL = uint32(v)
		case "fallthrough":
			z, err := plugin.Normalize(sub.Args)
			if err != nil {
				return sub.Errorf("%v", err)
			}
			if z == nil {
				z = plugin.Zones{}
			}
			k.Fallthrough = z
		default:
			return sub.Errorf("unknown property")
		}
	}
	cfg, err := c.Host.RESTConfig(kubeconfig)
	if err != nil {
		return d.Errorf("%v", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return d.Errorf("%v", err)
	}
	idx, err := newAPIIndex(client, k.Pods == PodsVerified)
	if err != nil {
		return d.Errorf("%v", err)
	}
	k.Index = idx
	ctx, cancel := context.WithCancel(context.Background())
	c.OnStartup(func() error { idx.run(ctx); return nil })
	c.OnShutdown(func() error { cancel(); idx.shutdown(); return nil })
	c.AddPlugin(func(next plugin.Handler) plugin.Handler { k.Next = next; return k })
	return nil
}
