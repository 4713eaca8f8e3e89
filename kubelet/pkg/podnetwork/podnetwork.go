// Package podnetwork gives the node its share of the cluster's pod network,
// the way upstream's kubenet plus a host-gw route agent did: once the Node has
// a spec.podCIDR (from the controller-manager's node IPAM, or --pod-cidr when
// standalone) it writes the bridge CNI config for that range, installs one
// MASQUERADE rule for pod traffic leaving the cluster, and routes every other
// node's pod CIDR to that node's InternalIP, following a Node informer.
package podnetwork

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/coreos/go-iptables/iptables"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// PluginKubenet is the --network-plugin value that turns this package on.
const PluginKubenet = "kubenet"

// Config is the pod network configuration of one node.
type Config struct {
	NodeName string
	// ConfDir is the CNI config directory the container runtime reads.
	ConfDir string
	// Bridge names the network and bridge and where host-local keeps its
	// leases; its PodCIDR, if set, is used until the Node has one (upstream's
	// --pod-cidr, meant for standalone kubelets).
	Bridge Bridge
	// NonMasqueradeCIDR is the cluster's pod network: pod traffic to
	// addresses outside it is masqueraded ("" disables the rule).
	NonMasqueradeCIDR string
	// Resync is how often routes and the rule are checked again even without
	// a Node change (default 1m): someone may have flushed them.
	Resync time.Duration
}

// Manager keeps the node's CNI config, masquerade rule and routes in step
// with the Nodes.
type Manager struct {
	cfg    Config
	nodes  listersv1.NodeLister
	synced cache.InformerSynced
	start  func(<-chan struct{})
	routes RouteTable
	ipt    Iptables
	queue  workqueue.TypedRateLimitingInterface[string]
	// podCIDR is the range the written config is for.
	podCIDR string
}

// New makes a Manager that watches Nodes through client (nil: standalone,
// Config.Bridge.PodCIDR only and no routes), changes routes through routes and
// iptables rules through ipt.
func New(cfg Config, client kubernetes.Interface, routes RouteTable, ipt Iptables) (*Manager, error) {
	if cfg.ConfDir == "" {
		return nil, errors.New("podnetwork: no CNI config directory")
	}
	if cfg.NonMasqueradeCIDR != "" {
		if _, _, err := net.ParseCIDR(cfg.NonMasqueradeCIDR); err != nil {
			return nil, fmt.Errorf("podnetwork: non-masquerade CIDR %q: %w", cfg.NonMasqueradeCIDR, err)
		}
	}
	if cfg.Bridge.PodCIDR != "" {
		if _, err := ConfList(cfg.Bridge); err != nil {
			return nil, err
		}
	}
	if cfg.Resync <= 0 {
		cfg.Resync = time.Minute
	}
	m := &Manager{cfg: cfg, routes: routes, ipt: ipt,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "podnetwork"})}
	if client != nil {
		f := informers.NewSharedInformerFactory(client, 0)
		inf := f.Core().V1().Nodes()
		m.nodes, m.synced, m.start = inf.Lister(), inf.Informer().HasSynced, f.Start
		// One key stands for the whole reconciliation. Status heartbeats
		// change neither a route nor this node's range and are ignored.
		enqueue := func(any) { m.queue.Add("nodes") }
		if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: enqueue, DeleteFunc: enqueue,
			UpdateFunc: func(o, n any) {
				on, ok1 := o.(*v1.Node)
				nn, ok2 := n.(*v1.Node)
				if !ok1 || !ok2 || routeKey(on) != routeKey(nn) {
					enqueue(n)
				}
			},
		}); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Run reconciles until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	defer m.queue.ShutDown()
	if m.start != nil {
		m.start(ctx.Done())
		if !cache.WaitForCacheSync(ctx.Done(), m.synced) {
			return
		}
	}
	go func() {
		t := time.NewTicker(m.cfg.Resync)
		defer t.Stop()
		for {
			m.queue.Add("nodes")
			select {
			case <-ctx.Done():
				m.queue.ShutDown()
				return
			case <-t.C:
			}
		}
	}()
	for m.processNextWorkItem(ctx) {
	}
}

func (m *Manager) processNextWorkItem(ctx context.Context) bool {
	key, quit := m.queue.Get()
	if quit {
		return false
	}
	defer m.queue.Done(key)
	if err := m.Sync(ctx); err != nil {
		slog.Warn("pod network", "err", err)
		m.queue.AddRateLimited(key)
		return true
	}
	m.queue.Forget(key)
	return true
}

// Sync makes the CNI config, masquerade rule and routes match the Nodes as
// the informer has them. It may be called again at any time.
func (m *Manager) Sync(ctx context.Context) error {
	var nodes []*v1.Node
	if m.nodes != nil {
		var err error
		if nodes, err = m.nodes.List(labels.Everything()); err != nil {
			return err
		}
	}
	podCIDR := m.cfg.Bridge.PodCIDR
	for _, n := range nodes {
		if n.Name == m.cfg.NodeName && n.Spec.PodCIDR != "" {
			podCIDR = n.Spec.PodCIDR
		}
	}
	var errs []error
	if podCIDR != "" {
		b := m.cfg.Bridge
		b.PodCIDR = podCIDR
		changed, err := WriteConfList(m.cfg.ConfDir, b)
		if err != nil {
			errs = append(errs, err)
		} else if changed || m.podCIDR != podCIDR {
			slog.Info("pod network configured", "podCIDR", podCIDR, "dir", m.cfg.ConfDir)
		}
		m.podCIDR = podCIDR
		if m.cfg.NonMasqueradeCIDR != "" && m.ipt != nil {
			if err := EnsureMasquerade(m.ipt, podCIDR, m.cfg.NonMasqueradeCIDR); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if m.nodes != nil && m.routes != nil {
		if err := ReconcileRoutes(m.routes, WantedRoutes(m.cfg.NodeName, nodes)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// routeKey is what of a Node the manager acts on: its ranges and addresses.
func routeKey(n *v1.Node) string {
	return fmt.Sprint(n.Spec.PodCIDR, n.Spec.PodCIDRs, n.Status.Addresses)
}

// WantedRoutes lists, for every node but self with a pod CIDR and an IPv4
// InternalIP, a route of its pod CIDR(s) to that address.
func WantedRoutes(self string, nodes []*v1.Node) []Route {
	var out []Route
	for _, n := range nodes {
		if n.Name == self {
			continue
		}
		var gw net.IP
		for _, a := range n.Status.Addresses {
			if ip := net.ParseIP(a.Address); a.Type == v1.NodeInternalIP && ip != nil && ip.To4() != nil {
				gw = ip.To4()
				break
			}
		}
		if gw == nil {
			continue
		}
		cidrs := n.Spec.PodCIDRs
		if len(cidrs) == 0 && n.Spec.PodCIDR != "" {
			cidrs = []string{n.Spec.PodCIDR}
		}
		for _, c := range cidrs {
			_, dst, err := net.ParseCIDR(c)
			if err != nil || dst.IP.To4() == nil {
				continue
			}
			out = append(out, Route{Dst: dst, Gw: gw})
		}
	}
	return out
}

// NewForHost is New with this network namespace's main routing table and
// iptables.
func NewForHost(cfg Config, client kubernetes.Interface) (*Manager, error) {
	var ipt Iptables
	if cfg.NonMasqueradeCIDR != "" {
		i, err := iptables.New()
		if err != nil {
			return nil, fmt.Errorf("podnetwork: %w", err)
		}
		ipt = i
	}
	return New(cfg, client, &NetlinkRoutes{}, ipt)
}
