package kubernetes

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/validation"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"navarch.dev/dns/pkg/plugin"
)

// DefaultTTL is the TTL of answers without a "ttl" property.
const DefaultTTL = 5

// Setup parses
//
//	kubernetes [ZONES...] {
//	    kubeconfig PATH
//	    namespaces NAMESPACE...
//	    pods disabled|insecure|verified
//	    endpoint_pod_names
//	    ttl SECONDS
//	    noendpoints
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
			if len(sub.Args) != 0 {
				return sub.Errorf("takes no arguments")
			}
			k.EndpointPodNames = true
		case "noendpoints":
			if len(sub.Args) != 0 {
				return sub.Errorf("takes no arguments")
			}
			k.NoEndpoints = true
		case "namespaces":
			if len(sub.Args) == 0 {
				return sub.Errorf("want at least one namespace")
			}
			k.Namespaces = map[string]bool{}
			for _, ns := range sub.Args {
				if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
					return sub.Errorf("bad namespace %q: %s", ns, strings.Join(errs, "; "))
				}
				k.Namespaces[ns] = true
			}
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
	if _, err := kubernetes.NewForConfig(cfg); err != nil {
		return d.Errorf("%v", err)
	}
	// The index is taken at startup, not here: a configuration that fails
	// to load after this directive is dropped without a shutdown.
	key := indexKey{kubeconfig: kubeconfig, host: cfg.Host, pods: k.Pods == PodsVerified, endpoints: !k.NoEndpoints}
	var idx *apiIndex
	c.OnStartup(func() error {
		var err error
		idx, err = acquireIndex(key, cfg)
		if err != nil {
			return plugin.Error("kubernetes", err)
		}
		k.Index = idx
		return nil
	})
	c.OnShutdown(func() error {
		if idx != nil {
			releaseIndex(key, idx)
		}
		return nil
	})
	c.AddPlugin(func(next plugin.Handler) plugin.Handler { k.Next = next; return k })
	return nil
}

// Indexes are shared by every kubernetes plugin of the process that reads
// the same API with the same options: by the server blocks of one
// Corefile, and across a reload, where the new configuration starts
// before the old one stops and so takes over the running, synced index
// instead of answering SERVFAIL until a new one has listed everything.
var (
	indexesMu sync.Mutex
	indexes   = map[indexKey]*sharedIndex{}
)

type indexKey struct {
	kubeconfig, host string
	pods, endpoints  bool
}

type sharedIndex struct {
	idx    *apiIndex
	refs   int
	cancel context.CancelFunc
}

func acquireIndex(key indexKey, cfg *rest.Config) (*apiIndex, error) {
	indexesMu.Lock()
	defer indexesMu.Unlock()
	if s := indexes[key]; s != nil {
		s.refs++
		return s.idx, nil
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	idx, err := newAPIIndex(client, key.pods, key.endpoints)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	idx.run(ctx)
	indexes[key] = &sharedIndex{idx: idx, refs: 1, cancel: cancel}
	return idx, nil
}

func releaseIndex(key indexKey, idx *apiIndex) {
	indexesMu.Lock()
	s := indexes[key]
	if s == nil || s.idx != idx {
		indexesMu.Unlock()
		return
	}
	s.refs--
	if s.refs > 0 {
		indexesMu.Unlock()
		return
	}
	delete(indexes, key)
	indexesMu.Unlock()
	s.cancel()
	idx.shutdown()
}
