// Package server runs navarch-dns: it parses a Corefile, builds one plugin
// chain per server block in the order of Directives, listens on UDP and TCP
// for each address, routes each query to the chain of the longest matching
// zone, and on a changed Corefile (reload plugin) switches the open
// sockets to the new chains.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"navarch.dev/dns/pkg/plugin"
	"navarch.dev/shared/kubeconfig"
)

// DefaultCorefile is served when no --conf is given: the cluster zone and
// the reverse zones from the API, everything else forwarded to the
// resolvers of /etc/resolv.conf, all cached.
const DefaultCorefile = `. {
    errors
    health :8080
    ready :8181
    prometheus :9153
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
}
`

// Options configure a server.
type Options struct {
	// Corefile is the configuration; CorefilePath names it in errors and is
	// polled by the reload plugin (empty: no reload).
	Corefile     []byte
	CorefilePath string
	// DNSPort is the port of server blocks whose keys name none.
	DNSPort string
	// Kubeconfig is the default API client configuration file ("":
	// kubectl's loading rules, then in-cluster). RESTConfig, when set,
	// is used instead (tests).
	Kubeconfig string
	RESTConfig *rest.Config

	// started, for tests, is called with each instance once it listens.
	started func(*Instance)
}

// Instance is one running configuration.
type Instance struct {
	opts    Options
	configs []*plugin.Config
	groups  map[string][]*plugin.Config // by listen address
	reg     *prometheus.Registry
	muxes   map[string]*http.ServeMux
	// patterns registered, as "addr pattern"
	patterns map[string]bool
	fatal    chan error
	reload   time.Duration

	httpServers []*http.Server
	started     []*plugin.Config
}

var _ plugin.Host = (*Instance)(nil)

// Handle implements plugin.Host.
func (in *Instance) Handle(addr, pattern string, h http.Handler) {
	m, ok := in.muxes[addr]
	if !ok {
		m = http.NewServeMux()
		in.muxes[addr] = m
	}
	key := addr + " " + pattern
	if in.patterns[key] {
		return
	}
	in.patterns[key] = true
	m.Handle(pattern, h)
}

// Registry implements plugin.Host.
func (in *Instance) Registry() *prometheus.Registry { return in.reg }

// RESTConfig implements plugin.Host.
func (in *Instance) RESTConfig(path string) (*rest.Config, error) {
	if path == "" && in.opts.RESTConfig != nil {
		return rest.CopyConfig(in.opts.RESTConfig), nil
	}
	if path == "" {
		path = in.opts.Kubeconfig
	}
	cfg, err := kubeconfig.RESTConfig(path)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = kubeconfig.DaemonQPS, kubeconfig.DaemonBurst
	cfg.UserAgent = "navarch-dns"
	return cfg, nil
}

// Handlers implements plugin.Host.
func (in *Instance) Handlers() []plugin.Handler {
	var hs []plugin.Handler
	for _, c := range in.configs {
		hs = append(hs, c.Handlers()...)
	}
	return hs
}

// Fatal implements plugin.Host.
func (in *Instance) Fatal(err error) {
	select {
	case in.fatal <- err:
	default:
	}
}

// SetReload implements plugin.Host.
func (in *Instance) SetReload(d time.Duration) { in.reload = d }

// Load parses and sets up opts.Corefile without starting anything: a
// configuration error shows here.
func Load(opts Options) (*Instance, error) {
	if opts.DNSPort == "" {
		opts.DNSPort = "53"
	}
	name := opts.CorefilePath
	if name == "" {
		name = "Corefile"
	}
	blocks, err := ParseCorefile(name, opts.Corefile)
	if err != nil {
		return nil, err
	}
	in := &Instance{
		opts:     opts,
		groups:   map[string][]*plugin.Config{},
		reg:      newRegistry(),
		muxes:    map[string]*http.ServeMux{},
		patterns: map[string]bool{},
		fatal:    make(chan error, 1),
	}
	known := map[string]bool{}
	for _, d := range Directives {
		known[d.Name] = true
	}
	seen := map[string]int{} // zone@port → line
	for _, b := range blocks {
		var zones []string
		port := ""
		for _, k := range b.Keys {
			z, p, err := splitKey(k)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, b.Line, err)
			}
			if p == "" {
				p = opts.DNSPort
			}
			if port != "" && p != port {
				return nil, fmt.Errorf("%s:%d: keys of one block must share a port", name, b.Line)
			}
			port = p
			zones = append(zones, z)
		}
		nz, err := plugin.Normalize(zones)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, b.Line, err)
		}
		cfg := &plugin.Config{Zones: nz, Port: port, Host: in}
		for _, d := range b.Directives {
			if !known[d.Name] {
				return nil, d.Errorf("unknown directive")
			}
		}
		for _, reg := range Directives {
			for _, d := range b.Directives {
				if d.Name != reg.Name {
					continue
				}
				cfg.BeginDirective(d.Name)
				if err := reg.Setup(cfg, d); err != nil {
					return nil, err
				}
			}
		}
		cfg.Build()
		hosts := cfg.ListenHosts
		if len(hosts) == 0 {
			hosts = []string{""}
		}
		for _, h := range hosts {
			addr := net.JoinHostPort(h, port)
			for _, z := range nz {
				key := z + "@" + addr
				if l, dup := seen[key]; dup {
					return nil, fmt.Errorf("%s:%d: zone %s on %s already defined at line %d", name, b.Line, z, addr, l)
				}
				seen[key] = b.Line
			}
			in.groups[addr] = append(in.groups[addr], cfg)
		}
		in.configs = append(in.configs, cfg)
	}
	return in, nil
}

// Start runs the startup hooks and starts the HTTP servers (health, ready,
// metrics). The DNS sockets are not the instance's: Run's listeners keep
// them across reloads and point them at the instance's chains. On error
// everything started is stopped again.
func (in *Instance) Start() error {
	for _, c := range in.configs {
		in.started = append(in.started, c)
		if err := c.Startup(); err != nil {
			in.Stop()
			return err
		}
	}
	httpAddrs := make([]string, 0, len(in.muxes))
	for a := range in.muxes {
		httpAddrs = append(httpAddrs, a)
	}
	sort.Strings(httpAddrs)
	for _, addr := range httpAddrs {
		// SO_REUSEPORT, like the DNS listeners: on reload the new instance
		// binds before the old one lets go.
		ln, err := listenTCP(addr)
		if err != nil {
			in.Stop()
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		srv := &http.Server{Handler: in.muxes[addr], ReadHeaderTimeout: 10 * time.Second}
		in.httpServers = append(in.httpServers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				in.Fatal(fmt.Errorf("http server on %s: %w", addr, err))
			}
		}()
	}
	return nil
}

// Stop stops the HTTP servers and runs the shutdown hooks.
func (in *Instance) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range in.httpServers {
		wg.Add(1)
		go func() { defer wg.Done(); s.Shutdown(ctx) }()
	}
	wg.Wait()
	in.httpServers = nil
	var first error
	for _, c := range in.started {
		if err := c.Shutdown(); err != nil && first == nil {
			first = err
		}
	}
	in.started = nil
	return first
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	plugin.Register(reg, reloadFailed, plugin.PanicsTotal)
	return reg
}
