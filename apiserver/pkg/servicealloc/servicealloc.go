// Package servicealloc gives Services their ClusterIPs and NodePorts as they are
// created, updated and deleted, from the etcd-backed ranges of pkg/ipalloc.
package servicealloc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/ipalloc"
	"navarch.dev/apiserver/pkg/registry"
)

// IPs allocates the ClusterIPs of one family.
type IPs interface {
	Allocate(ctx context.Context, ip net.IP) error
	AllocateNext(ctx context.Context) (net.IP, error)
	Release(ctx context.Context, ip net.IP) error
}

// Ports allocates NodePorts.
type Ports interface {
	Allocate(ctx context.Context, port int) error
	AllocateNext(ctx context.Context) (int, error)
	Release(ctx context.Context, port int) error
}

// Allocator ties Services to the ranges.
type Allocator struct {
	// IPs holds one allocator per IP family the cluster serves: one on a
	// single-stack cluster, two on a dual-stack one.
	IPs map[corev1.IPFamily]IPs
	// Primary is the family of the primary service range (the first of
	// --service-cluster-ip-range). A Service that names no family gets it.
	Primary corev1.IPFamily
	Ports   Ports
}

var serviceKind = schema.GroupKind{Kind: "Service"}

// Hooks returns the store hooks that settle a Service's IP families, then
// allocate and release its ClusterIPs and NodePorts.
func (a *Allocator) Hooks() registry.Hooks {
	return registry.Hooks{
		BeforeCreate: func(ctx context.Context, obj runtime.Object, dryRun bool) (func(), error) {
			svc := obj.(*corev1.Service)
			if err := a.initIPFamilies(svc); err != nil {
				return nil, err
			}
			var tx txn
			if err := a.allocate(ctx, svc, nil, &tx, dryRun); err != nil {
				tx.rollback(ctx, a)
				return nil, err
			}
			if dryRun {
				tx.rollback(ctx, a)
				return nil, nil
			}
			return func() { tx.rollback(context.WithoutCancel(ctx), a) }, nil
		},
		BeforeUpdate: func(ctx context.Context, obj, old runtime.Object, dryRun bool) (func(), func(), error) {
			svc, oldSvc := obj.(*corev1.Service), old.(*corev1.Service)
			if err := a.initIPFamilies(svc); err != nil {
				return nil, nil, err
			}
			var tx txn
			if err := a.allocate(ctx, svc, oldSvc, &tx, dryRun); err != nil {
				tx.rollback(ctx, a)
				return nil, nil, err
			}
			if dryRun {
				tx.rollback(ctx, a)
				return nil, nil, nil
			}
			// What the old object held and the new one does not is released
			// only once the update is stored.
			commit := func() { a.release(context.WithoutCancel(ctx), released(oldSvc, svc)) }
			return commit, func() { tx.rollback(context.WithoutCancel(ctx), a) }, nil
		},
		AfterDelete: func(ctx context.Context, obj runtime.Object) {
			svc := obj.(*corev1.Service)
			a.release(context.WithoutCancel(ctx), held(svc))
		},
	}
}

// txn records what one request allocated, to give back if it fails.
type txn struct {
	ips   []net.IP
	ports []int
}

func (t *txn) rollback(ctx context.Context, a *Allocator) {
	a.release(ctx, holding{ips: t.ips, ports: t.ports})
	t.ips, t.ports = nil, nil
}

type holding struct {
	ips   []net.IP
	ports []int
}

func (a *Allocator) release(ctx context.Context, h holding) {
	for _, ip := range h.ips {
		ips := a.IPs[familyOf(ip)]
		if ips == nil {
			continue // a family this cluster no longer serves
		}
		if err := ips.Release(ctx, ip); err != nil {
			slog.Error("release cluster IP", "ip", ip, "err", err)
		}
	}
	for _, p := range h.ports {
		if err := a.Ports.Release(ctx, p); err != nil {
			slog.Error("release node port", "port", p, "err", err)
		}
	}
}

func needsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

func needsNodePorts(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
}

func needsHealthCheckPort(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// held lists what a stored Service holds.
func held(svc *corev1.Service) holding {
	var h holding
	if needsClusterIP(svc) {
		for _, s := range clusterIPs(svc) {
			if ip := net.ParseIP(s); ip != nil {
				h.ips = append(h.ips, ip)
			}
		}
	}
	if needsNodePorts(svc) {
		seen := map[int]bool{}
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 && !seen[int(p.NodePort)] {
				seen[int(p.NodePort)] = true
				h.ports = append(h.ports, int(p.NodePort))
			}
		}
	}
	if needsHealthCheckPort(svc) && svc.Spec.HealthCheckNodePort != 0 {
		h.ports = append(h.ports, int(svc.Spec.HealthCheckNodePort))
	}
	return h
}

// released is what old holds that svc no longer does.
func released(old, svc *corev1.Service) holding {
	before, after := held(old), held(svc)
	var out holding
	keepIP := map[string]bool{}
	for _, ip := range after.ips {
		keepIP[ip.String()] = true
	}
	for _, ip := range before.ips {
		if !keepIP[ip.String()] {
			out.ips = append(out.ips, ip)
		}
	}
	keepPort := map[int]bool{}
	for _, p := range after.ports {
		keepPort[p] = true
	}
	for _, p := range before.ports {
		if !keepPort[p] {
			out.ports = append(out.ports, p)
		}
	}
	return out
}

// allocate gives svc what it needs that old (nil on create) did not hold.
func (a *Allocator) allocate(ctx context.Context, svc, old *corev1.Service, tx *txn, dryRun bool) error {
	var had holding
	if old != nil {
		had = held(old)
	}
	hadIP := func(ip string) bool {
		for _, h := range had.ips {
			if h.String() == ip {
				return true
			}
		}
		return false
	}
	hadPort := func(p int32) bool {
		for _, h := range had.ports {
			if h == int(p) {
				return true
			}
		}
		return false
	}
	if needsClusterIP(svc) {
		if err := a.allocateClusterIPs(ctx, svc, hadIP, tx); err != nil {
			return err
		}
	}
	if needsNodePorts(svc) {
		// A port number may serve several protocols of one port entry.
		byPort := map[int32]int32{}
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
			if p.NodePort == 0 {
				if prev, ok := byPort[p.Port]; ok {
					p.NodePort = prev
					continue
				}
				n, err := a.Ports.AllocateNext(ctx)
				if err != nil {
					return invalid(svc, path, "", "failed to allocate a nodePort", err)
				}
				tx.ports = append(tx.ports, n)
				p.NodePort = int32(n)
				byPort[p.Port] = p.NodePort
				continue
			}
			if hadPort(p.NodePort) || containsPort(tx.ports, p.NodePort) {
				continue
			}
			if err := a.Ports.Allocate(ctx, int(p.NodePort)); err != nil {
				return invalid(svc, path, fmt.Sprint(p.NodePort), fmt.Sprintf("provided port is already allocated"), err)
			}
			tx.ports = append(tx.ports, int(p.NodePort))
			byPort[p.Port] = p.NodePort
		}
	} else {
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 0
		}
	}
	if needsHealthCheckPort(svc) {
		switch {
		case svc.Spec.HealthCheckNodePort == 0:
			n, err := a.Ports.AllocateNext(ctx)
			if err != nil {
				return invalid(svc, field.NewPath("spec", "healthCheckNodePort"), "", "failed to allocate a nodePort", err)
			}
			tx.ports = append(tx.ports, n)
			svc.Spec.HealthCheckNodePort = int32(n)
		case !hadPort(svc.Spec.HealthCheckNodePort):
			if err := a.Ports.Allocate(ctx, int(svc.Spec.HealthCheckNodePort)); err != nil {
				return invalid(svc, field.NewPath("spec", "healthCheckNodePort"), fmt.Sprint(svc.Spec.HealthCheckNodePort), "failed to allocate requested HealthCheck NodePort", err)
			}
			tx.ports = append(tx.ports, int(svc.Spec.HealthCheckNodePort))
		}
	} else {
		svc.Spec.HealthCheckNodePort = 0
	}
	return nil
}

func containsPort(ports []int, p int32) bool {
	for _, x := range ports {
		if x == int(p) {
			return true
		}
	}
	return false
}

// invalid reports an allocation refusal as 422 on the field, and a fault of
// the allocator itself as 500.
func invalid(svc *corev1.Service, path *field.Path, value, msg string, err error) error {
	var ae *ipalloc.Error
	if err != nil && !errors.As(err, &ae) {
		return apierrors.NewInternalError(fmt.Errorf("%s: %w", msg, err))
	}
	detail := msg
	if ae != nil {
		detail = msg + ": " + ae.Message
		if value != "" && msg == "provided port is already allocated" {
			detail = ae.Message
		}
	}
	return apierrors.NewInvalid(serviceKind, svc.Name, field.ErrorList{field.Invalid(path, value, detail)})
}

// allocateClusterIPs gives svc one ClusterIP per family in spec.ipFamilies
// (settled by initIPFamilies), honouring the addresses the user chose, and
// keeps spec.clusterIP equal to spec.clusterIPs[0].
func (a *Allocator) allocateClusterIPs(ctx context.Context, svc *corev1.Service, hadIP func(string) bool, tx *txn) error {
	ipsPath := field.NewPath("spec", "clusterIPs")
	if len(svc.Spec.ClusterIPs) == 0 && svc.Spec.ClusterIP != "" {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
	for i, fam := range svc.Spec.IPFamilies {
		if i < len(svc.Spec.ClusterIPs) && svc.Spec.ClusterIPs[i] != "" {
			want := svc.Spec.ClusterIPs[i]
			if hadIP(want) {
				continue
			}
			ip := net.ParseIP(want)
			if ip == nil {
				return invalid(svc, ipsPath.Index(i), want, "must be a valid IP address", nil)
			}
			ips := a.IPs[familyOf(ip)]
			if ips == nil {
				return invalid(svc, ipsPath.Index(i), want, fmt.Sprintf("%s is not configured on this cluster", familyOf(ip)), nil)
			}
			if err := ips.Allocate(ctx, ip); err != nil {
				return invalid(svc, ipsPath.Index(i), want, "failed to allocate IP "+want, err)
			}
			tx.ips = append(tx.ips, ip)
			continue
		}
		ips := a.IPs[fam]
		if ips == nil {
			return invalid(svc, field.NewPath("spec", "ipFamilies").Index(i), string(fam), "not configured on this cluster", nil)
		}
		ip, err := ips.AllocateNext(ctx)
		if err != nil {
			return invalid(svc, ipsPath.Index(i), "", "failed to allocate a serviceIP", err)
		}
		tx.ips = append(tx.ips, ip)
		svc.Spec.ClusterIPs = append(svc.Spec.ClusterIPs[:i], ip.String())
	}
	if len(svc.Spec.ClusterIPs) > 0 {
		svc.Spec.ClusterIP = svc.Spec.ClusterIPs[0]
	}
	return nil
}

// clusterIPs returns what svc holds: spec.clusterIPs, or spec.clusterIP for
// an object written before clusterIPs existed.
func clusterIPs(svc *corev1.Service) []string {
	if len(svc.Spec.ClusterIPs) > 0 {
		return svc.Spec.ClusterIPs
	}
	if svc.Spec.ClusterIP != "" {
		return []string{svc.Spec.ClusterIP}
	}
	return nil
}

func familyOf(ip net.IP) corev1.IPFamily {
	if ip.To4() != nil {
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

// Repair makes the ranges match the stored Services, reclaiming leaks. ips
// holds the range of each family the cluster serves; each is given the
// ClusterIPs of its family.
func Repair(ctx context.Context, ips map[corev1.IPFamily]*ipalloc.IPAllocator, ports *ipalloc.PortAllocator, services []*corev1.Service) error {
	inIPs := map[corev1.IPFamily][]net.IP{}
	var inPorts []int
	for _, s := range services {
		h := held(s)
		for _, ip := range h.ips {
			inIPs[familyOf(ip)] = append(inIPs[familyOf(ip)], ip)
		}
		inPorts = append(inPorts, h.ports...)
	}
	for _, fam := range []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol} {
		r := ips[fam]
		if r == nil {
			continue
		}
		if _, err := r.Repair(ctx, inIPs[fam]); err != nil {
			return fmt.Errorf("repair %s cluster IPs: %w", fam, err)
		}
	}
	if _, err := ports.Repair(ctx, inPorts); err != nil {
		return fmt.Errorf("repair node ports: %w", err)
	}
	return nil
}
