// Package app wires navarch-proxy together: informers feed the service
// tracker, a bounded-frequency loop syncs the chosen proxier, and the health
// and metrics servers report on it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"navarch.dev/proxy/pkg/conntrack"
	"navarch.dev/proxy/pkg/healthcheck"
	"navarch.dev/proxy/pkg/iptables"
	"navarch.dev/proxy/pkg/ipvs"
	"navarch.dev/proxy/pkg/metrics"
	"navarch.dev/proxy/pkg/netns"
	"navarch.dev/proxy/pkg/servicemap"
	"navarch.dev/proxy/pkg/syncrunner"
	"navarch.dev/shared/component"
	"navarch.dev/shared/kubeconfig"
)

// Proxy modes (--proxy-mode).
const (
	ModeIPTables = "iptables"
	ModeIPVS     = "ipvs"
)

// Config is navarch-proxy's typed configuration.
type Config struct {
	Kubeconfig         string
	Mode               string
	IPVSScheduler      string
	MinSyncPeriod      time.Duration
	SyncPeriod         time.Duration
	HostnameOverride   string
	ClusterCIDR        string
	MasqueradeAll      bool
	HealthzBindAddress string
	MetricsBindAddress string
	Cleanup            bool
	// IPTablesBackend is "auto", "legacy" or "nft" (--iptables-backend).
	IPTablesBackend string
	// NodePortAddresses limits NodePorts and health check node ports to
	// local addresses in these CIDRs, or the node's primary IPs for
	// "primary" (--nodeport-addresses); empty means every address.
	NodePortAddresses []string

	// Client, when set, is used instead of loading Kubeconfig.
	Client kubernetes.Interface
	// NetNS, when set, is the network namespace to program instead of the
	// process's own (tests and benchmarks).
	NetNS string
	// IPVSKernel overrides IPVS detection (tests).
	IPVSKernel ipvs.Kernel
	// Synced, when set, is called after each successful sync (tests).
	Synced func()
}

// Defaults returns the upstream defaults.
func Defaults() Config {
	return Config{
		Mode:               ModeIPTables,
		IPVSScheduler:      "rr",
		MinSyncPeriod:      time.Second,
		SyncPeriod:         30 * time.Second,
		HealthzBindAddress: "0.0.0.0:10256",
		MetricsBindAddress: "127.0.0.1:10249",
		IPTablesBackend:    string(iptables.BackendAuto),
	}
}

// ChooseMode returns the mode to run: IPVS only when asked for and the
// kernel has it (with the scheduler), iptables otherwise, as upstream falls
// back with a warning.
func ChooseMode(cfg Config, log *slog.Logger) (string, error) {
	switch cfg.Mode {
	case "", ModeIPTables:
		return ModeIPTables, nil
	case ModeIPVS:
		k := cfg.IPVSKernel
		if k == nil {
			k = ipvs.HostKernel{NetNS: cfg.NetNS}
		}
		err := ipvs.Check(k, cfg.IPVSScheduler)
		if errors.Is(err, ipvs.ErrUnavailable) {
			log.Warn("IPVS mode requested but the kernel cannot run it; falling back to iptables mode", "reason", err)
			return ModeIPTables, nil
		}
		if err != nil {
			return "", err
		}
		return ModeIPVS, nil
	default:
		return "", fmt.Errorf("proxy: unknown --proxy-mode %q (want iptables or ipvs)", cfg.Mode)
	}
}

type syncer interface {
	Sync() error
}

type iptablesSyncer struct{ p *iptables.Proxier }

func (s iptablesSyncer) Sync() error { _, err := s.p.Sync(); return err }

// multiSyncer syncs one proxier per IP family; one failing does not stop
// the other.
type multiSyncer []syncer

func (m multiSyncer) Sync() error {
	var errs []error
	for _, s := range m {
		errs = append(errs, s.Sync())
	}
	return errors.Join(errs...)
}

func each(ts []*servicemap.Tracker, fn func(*servicemap.Tracker)) {
	for _, t := range ts {
		fn(t)
	}
}

// cidrOf picks the --cluster-cidr entry of a family from a comma-separated
// dual-stack list; "" when there is none.
func cidrOf(list string, ipv6 bool) string {
	for _, c := range strings.Split(list, ",") {
		c = strings.TrimSpace(c)
		if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() != ipv6 {
			return c
		}
	}
	return ""
}

// mergedHealthChecks feeds one health check server from the proxiers of
// both families: a service's port is served while either family has it,
// with the local endpoints of both counted.
type mergedHealthChecks struct {
	hc    iptables.HealthChecks
	mu    sync.Mutex
	parts []map[servicemap.ServiceName]*servicemap.Service
}

func newMergedHealthChecks(hc iptables.HealthChecks, n int) *mergedHealthChecks {
	return &mergedHealthChecks{hc: hc, parts: make([]map[servicemap.ServiceName]*servicemap.Service, n)}
}

func (m *mergedHealthChecks) family(i int) iptables.HealthChecks { return familyHealthChecks{m, i} }

type familyHealthChecks struct {
	m *mergedHealthChecks
	i int
}

func (f familyHealthChecks) Sync(services map[servicemap.ServiceName]*servicemap.Service) error {
	m := f.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.parts[f.i] = services
	if len(m.parts) == 1 {
		return m.hc.Sync(services)
	}
	all := map[servicemap.ServiceName]*servicemap.Service{}
	for _, part := range m.parts {
		for name, svc := range part {
			if prev, ok := all[name]; ok {
				merged := &servicemap.Service{Name: name, Ports: append(slices.Clone(prev.Ports), svc.Ports...)}
				svc = merged
			}
			all[name] = svc
		}
	}
	return m.hc.Sync(all)
}

// Run runs the proxy until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	log := slog.Default()
	backend, err := iptables.ParseBackend(cfg.IPTablesBackend)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	if cfg.Cleanup {
		// Rules may have been left in either backend by an earlier run.
		var errs []error
		for _, b := range []iptables.Backend{iptables.BackendLegacy, iptables.BackendNFT} {
			for _, v6 := range []bool{false, true} {
				if backend != iptables.BackendAuto && backend != b {
					continue
				}
				r := &iptables.ExecRunner{NetNS: cfg.NetNS, Backend: b, IPv6: v6}
				if _, err := r.Save("nat"); err != nil && (backend == iptables.BackendAuto || v6) {
					continue // backend or family not available here
				}
				errs = append(errs, iptables.Cleanup(r))
			}
		}
		errs = append(errs, ipvs.Cleanup(ipvs.HostSystem(cfg.NetNS)))
		return errors.Join(errs...)
	}
	if backend == iptables.BackendAuto {
		if backend, err = iptables.DetectBackend(cfg.NetNS); err != nil {
			return fmt.Errorf("proxy: %w", err)
		}
	}
	hostname := cfg.HostnameOverride
	if hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("proxy: hostname: %w", err)
		}
		hostname = strings.ToLower(h)
	}
	client := cfg.Client
	if client == nil {
		c, _, err := kubeconfig.Clientset(cfg.Kubeconfig, "navarch-proxy")
		if err != nil {
			return fmt.Errorf("proxy: %w", err)
		}
		client = c
	}
	mode, err := ChooseMode(cfg, log)
	if err != nil {
		return err
	}
	npPrefixes, npPrimary, err := parseNodePortAddresses(cfg.NodePortAddresses)
	if err != nil {
		return err
	}
	npLimited := len(npPrefixes) > 0 || npPrimary
	primaryIPs, err := nodeIPs(ctx, client, hostname)
	if err != nil {
		log.Warn("cannot read the node's IPs from its Node object", "node", hostname, "err", err)
	}
	local, err := localAddrs(cfg.NetNS)
	if err != nil {
		return err
	}

	// One tracker and proxier per IP family: IPv6 too where ip6tables
	// works (dual-stack services get rules in both), IPVS for IPv4 only.
	families := []bool{false}
	if mode == ModeIPTables {
		if _, err := (&iptables.ExecRunner{NetNS: cfg.NetNS, Backend: backend, IPv6: true}).Save("nat"); err == nil {
			families = append(families, true)
		} else {
			log.Warn("ip6tables does not work here; IPv6 services are not proxied", "err", err)
		}
	}
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	health := healthcheck.New(2 * cfg.SyncPeriod)
	var trackers []*servicemap.Tracker
	var syncers multiSyncer
	var allNP []string
	var npAddrs [][]string
	for _, v6 := range families {
		np, err := nodePortIPs(cfg.NodePortAddresses, primaryIPs, local, v6)
		if err != nil {
			return err
		}
		npAddrs = append(npAddrs, np)
		allNP = append(allNP, np...)
	}
	if npLimited && len(allNP) == 0 {
		return noneMatch(cfg.NodePortAddresses)
	}
	hcServer := healthcheck.NewServiceHealthServer(allNP, func(network, addr string) (ln net.Listener, err error) {
		err = netns.Do(cfg.NetNS, func() error {
			ln, err = net.Listen(network, addr)
			return err
		})
		return ln, err
	}, health, log)
	defer hcServer.Close()
	hcs := newMergedHealthChecks(hcServer, len(families))

	for i, v6 := range families {
		family, loopback := v1.IPv4Protocol, true
		if v6 {
			family, loopback = v1.IPv6Protocol, false
		}
		tracker := servicemap.NewFamilyTracker(hostname, family)
		trackers = append(trackers, tracker)
		runner := &iptables.ExecRunner{NetNS: cfg.NetNS, Backend: backend, IPv6: v6}
		switch mode {
		case ModeIPVS:
			if err := iptables.Cleanup(runner); err != nil {
				log.Warn("clean up iptables mode rules", "err", err)
			}
			syncers = append(syncers, ipvs.New(tracker, ipvs.HostSystem(cfg.NetNS), runner, ipvs.Config{
				Scheduler: cfg.IPVSScheduler, ClusterCIDR: cidrOf(cfg.ClusterCIDR, false), Metrics: m, HealthChecks: hcs.family(i), Logger: log,
			}))
		default:
			syncers = append(syncers, iptablesSyncer{iptables.New(tracker, runner, iptables.Config{
				Rules: iptables.RuleConfig{ClusterCIDR: cidrOf(cfg.ClusterCIDR, v6), MasqueradeAll: cfg.MasqueradeAll,
					NodeIPs: primaryIPs, NodePortAddresses: npAddrs[i], IPv6: v6},
				SyncPeriod:         cfg.SyncPeriod,
				FullSyncPeriod:     iptables.FullSyncPeriod,
				ChunkChains:        iptables.ChunkFor(backend),
				LocalhostNodePorts: loopback,
				Metrics:            m,
				Conntrack:          conntrack.NewFlusher(cfg.NetNS, log),
				HealthChecks:       hcs.family(i),
				Logger:             log,
			})})
		}
	}
	prox := syncers
	log.Info("starting proxy", "mode", mode, "iptablesBackend", backend, "node", hostname)

	loop := syncrunner.New(func() {
		if err := prox.Sync(); err != nil {
			log.Error("sync proxy rules", "err", err)
			return
		}
		health.Updated()
		if cfg.Synced != nil {
			cfg.Synced()
		}
	}, cfg.MinSyncPeriod, cfg.SyncPeriod)

	factory := informers.NewSharedInformerFactory(client, 0)
	svcInf := factory.Core().V1().Services().Informer()
	sliceInf := factory.Discovery().V1().EndpointSlices().Informer()
	changed := func() {
		health.QueuedUpdate()
		loop.Trigger()
	}
	if _, err := svcInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			each(trackers, func(t *servicemap.Tracker) { t.OnServiceUpdate(o.(*v1.Service)) })
			changed()
		},
		UpdateFunc: func(_, o any) {
			each(trackers, func(t *servicemap.Tracker) { t.OnServiceUpdate(o.(*v1.Service)) })
			changed()
		},
		DeleteFunc: func(o any) {
			if svc, ok := tombstone[*v1.Service](o); ok {
				each(trackers, func(t *servicemap.Tracker) { t.OnServiceDelete(svc) })
				changed()
			}
		},
	}); err != nil {
		return fmt.Errorf("proxy: service handler: %w", err)
	}
	if _, err := sliceInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			each(trackers, func(t *servicemap.Tracker) { t.OnEndpointSliceUpdate(o.(*discovery.EndpointSlice)) })
			changed()
		},
		UpdateFunc: func(_, o any) {
			each(trackers, func(t *servicemap.Tracker) { t.OnEndpointSliceUpdate(o.(*discovery.EndpointSlice)) })
			changed()
		},
		DeleteFunc: func(o any) {
			if es, ok := tombstone[*discovery.EndpointSlice](o); ok {
				each(trackers, func(t *servicemap.Tracker) { t.OnEndpointSliceDelete(es) })
				changed()
			}
		},
	}); err != nil {
		return fmt.Errorf("proxy: endpointslice handler: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	if cfg.HealthzBindAddress != "" {
		ln, err := net.Listen("tcp", cfg.HealthzBindAddress)
		if err != nil {
			return fmt.Errorf("proxy: healthz: %w", err)
		}
		go func() { errc <- serve(ctx, ln, health.Handler()) }()
	}
	if cfg.MetricsBindAddress != "" {
		checks := map[string]func() error{"proxy-rules": health.Check}
		go func() { errc <- component.ServeHealth(ctx, cfg.MetricsBindAddress, checks, reg) }()
	}
	factory.Start(ctx.Done())
	// The first sync is a full one: it must not run before the caches hold
	// every service, or it would delete rules of services not yet seen.
	if !cache.WaitForCacheSync(ctx.Done(), svcInf.HasSynced, sliceInf.HasSynced) {
		factory.Shutdown()
		return ctx.Err()
	}
	done := make(chan struct{})
	go func() { loop.Run(ctx); close(done) }()
	select {
	case <-ctx.Done():
	case err = <-errc:
		cancel()
	}
	<-done
	factory.Shutdown()
	return err
}

func tombstone[T any](o any) (T, bool) {
	if t, ok := o.(T); ok {
		return t, true
	}
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		t, ok := d.Obj.(T)
		return t, ok
	}
	var zero T
	return zero, false
}

func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("proxy: healthz server: %w", err)
	}
	return nil
}
