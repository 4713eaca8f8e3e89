package servicealloc_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
)

const (
	v4Range = "10.96.0.0/16"
	v6Range = "fd00:10:96::/112"
)

func inRange(t *testing.T, ip, cidr string) bool {
	t.Helper()
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	return n.Contains(net.ParseIP(ip))
}

func newService(name string, policy *corev1.IPFamilyPolicy, families ...corev1.IPFamily) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Selector:       map[string]string{"app": name},
			Ports:          []corev1.ServicePort{{Port: 80}},
			IPFamilyPolicy: policy,
			IPFamilies:     families,
		},
	}
}

func policyOf(p corev1.IPFamilyPolicy) *corev1.IPFamilyPolicy { return &p }

// update applies change to the stored service and writes it back.
func update(t *testing.T, cs kubernetes.Interface, name string, change func(*corev1.Service)) (*corev1.Service, error) {
	t.Helper()
	ctx := context.Background()
	svc, err := cs.CoreV1().Services("default").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	change(svc)
	return cs.CoreV1().Services("default").Update(ctx, svc, metav1.UpdateOptions{})
}

// TestDualStackServicesThroughTheAPI drives a dual-stack apiserver with
// client-go, as kubectl would.
func TestDualStackServicesThroughTheAPI(t *testing.T) {
	ts := testserver.Start(t, func(o *server.Options) { o.ServiceClusterIPRange = v4Range + "," + v6Range })
	cs := ts.Client
	ctx := context.Background()
	svcs := cs.CoreV1().Services("default")

	k, err := svcs.Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if k.Spec.ClusterIP != "10.96.0.1" || !slices.Equal(k.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv4Protocol}) {
		t.Errorf("default/kubernetes clusterIP %s families %v, want 10.96.0.1 [IPv4]", k.Spec.ClusterIP, k.Spec.IPFamilies)
	}

	dual, err := svcs.Create(ctx, newService("dual", policyOf(corev1.IPFamilyPolicyRequireDualStack)), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create RequireDualStack: %v", err)
	}
	if ips := dual.Spec.ClusterIPs; len(ips) != 2 || !inRange(t, ips[0], v4Range) || !inRange(t, ips[1], v6Range) || dual.Spec.ClusterIP != ips[0] {
		t.Fatalf("RequireDualStack clusterIP %s clusterIPs %v", dual.Spec.ClusterIP, ips)
	}
	if !slices.Equal(dual.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}) {
		t.Errorf("RequireDualStack ipFamilies %v", dual.Spec.IPFamilies)
	}

	v6first, err := svcs.Create(ctx, newService("v6first", policyOf(corev1.IPFamilyPolicyPreferDualStack), corev1.IPv6Protocol), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create PreferDualStack [IPv6]: %v", err)
	}
	if ips := v6first.Spec.ClusterIPs; len(ips) != 2 || !inRange(t, ips[0], v6Range) || !inRange(t, ips[1], v4Range) {
		t.Fatalf("PreferDualStack [IPv6] clusterIPs %v", ips)
	}

	single, err := svcs.Create(ctx, newService("single", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if single.Spec.IPFamilyPolicy == nil || *single.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack ||
		!slices.Equal(single.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv4Protocol}) || len(single.Spec.ClusterIPs) != 1 {
		t.Errorf("default service: policy %v families %v clusterIPs %v", single.Spec.IPFamilyPolicy, single.Spec.IPFamilies, single.Spec.ClusterIPs)
	}

	// Upgrade: the secondary IP is added, the primary kept.
	up, err := update(t, cs, "single", func(s *corev1.Service) { s.Spec.IPFamilyPolicy = policyOf(corev1.IPFamilyPolicyPreferDualStack) })
	if err != nil {
		t.Fatalf("upgrade to PreferDualStack: %v", err)
	}
	if ips := up.Spec.ClusterIPs; len(ips) != 2 || ips[0] != single.Spec.ClusterIP || !inRange(t, ips[1], v6Range) {
		t.Errorf("after upgrade clusterIPs %v, want [%s <IPv6>]", ips, single.Spec.ClusterIP)
	}

	// The primary family cannot change.
	_, err = update(t, cs, "single", func(s *corev1.Service) {
		s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
	})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.ipFamilies[0]: Invalid value: "IPv6": may not change once set`) {
		t.Errorf("swapping families: %v", err)
	}

	// Downgrade: the secondary IP goes, and is free for another service.
	released := dual.Spec.ClusterIPs[1]
	down, err := update(t, cs, "dual", func(s *corev1.Service) { s.Spec.IPFamilyPolicy = policyOf(corev1.IPFamilyPolicySingleStack) })
	if err != nil {
		t.Fatalf("downgrade to SingleStack: %v", err)
	}
	if !slices.Equal(down.Spec.ClusterIPs, dual.Spec.ClusterIPs[:1]) || !slices.Equal(down.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv4Protocol}) {
		t.Errorf("after downgrade clusterIPs %v families %v", down.Spec.ClusterIPs, down.Spec.IPFamilies)
	}
	taker := newService("taker", nil)
	taker.Spec.ClusterIP = released
	if got, err := svcs.Create(ctx, taker, metav1.CreateOptions{}); err != nil {
		t.Errorf("create with the released IPv6 address %s: %v", released, err)
	} else if !slices.Equal(got.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv6Protocol}) {
		t.Errorf("service on %s got families %v", released, got.Spec.IPFamilies)
	}

	// A taken address is refused per family.
	dup := newService("dup", policyOf(corev1.IPFamilyPolicyRequireDualStack))
	dup.Spec.ClusterIPs = []string{"10.96.200.1", v6first.Spec.ClusterIPs[0]}
	dup.Spec.ClusterIP = dup.Spec.ClusterIPs[0]
	_, err = svcs.Create(ctx, dup, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.clusterIPs[1]") || !strings.Contains(err.Error(), "provided IP is already allocated") {
		t.Errorf("create with a taken IPv6 address: %v", err)
	}

	// Delete frees both families: the same addresses can be asked again.
	if err := svcs.Delete(ctx, "v6first", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again := newService("again", policyOf(corev1.IPFamilyPolicyRequireDualStack))
	again.Spec.ClusterIPs = v6first.Spec.ClusterIPs
	again.Spec.ClusterIP = again.Spec.ClusterIPs[0]
	if got, err := svcs.Create(ctx, again, metav1.CreateOptions{}); err != nil {
		t.Errorf("re-create on the deleted service's addresses %v: %v", v6first.Spec.ClusterIPs, err)
	} else if !slices.Equal(got.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}) {
		t.Errorf("re-created service families %v", got.Spec.IPFamilies)
	}
}

func TestRequireDualStackOnSingleStackCluster(t *testing.T) {
	ts := testserver.Start(t)
	svcs := ts.Client.CoreV1().Services("default")
	ctx := context.Background()
	_, err := svcs.Create(ctx, newService("dual", policyOf(corev1.IPFamilyPolicyRequireDualStack)), metav1.CreateOptions{})
	want := `Service "dual" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`
	if !apierrors.IsInvalid(err) || err.Error() != want {
		t.Errorf("create RequireDualStack on single-stack = %v, want 422 %q", err, want)
	}
	_, err = svcs.Create(ctx, newService("v6", nil, corev1.IPv6Protocol), metav1.CreateOptions{})
	want = `Service "v6" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster`
	if !apierrors.IsInvalid(err) || err.Error() != want {
		t.Errorf("create [IPv6] on an IPv4 cluster = %v, want 422 %q", err, want)
	}
	got, err := svcs.Create(ctx, newService("prefer", policyOf(corev1.IPFamilyPolicyPreferDualStack)), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create PreferDualStack on single-stack: %v", err)
	}
	if len(got.Spec.ClusterIPs) != 1 || !slices.Equal(got.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv4Protocol}) {
		t.Errorf("PreferDualStack on single-stack: clusterIPs %v families %v", got.Spec.ClusterIPs, got.Spec.IPFamilies)
	}
	hl := newService("headless", nil)
	hl.Spec.Selector = nil
	hl.Spec.ClusterIP = corev1.ClusterIPNone
	got, err = svcs.Create(ctx, hl, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create selectorless headless: %v", err)
	}
	if *got.Spec.IPFamilyPolicy != corev1.IPFamilyPolicyRequireDualStack ||
		!slices.Equal(got.Spec.IPFamilies, []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}) {
		t.Errorf("selectorless headless: policy %v families %v", *got.Spec.IPFamilyPolicy, got.Spec.IPFamilies)
	}
}
