package tables

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func rules(hosts ...string) []networkingv1.IngressRule {
	var out []networkingv1.IngressRule
	for _, h := range hosts {
		out = append(out, networkingv1.IngressRule{Host: h})
	}
	return out
}

func TestNetworkingCells(t *testing.T) {
	port := func(p int32) discoveryv1.EndpointPort { return discoveryv1.EndpointPort{Port: &p} }
	tests := []struct {
		name string
		obj  runtime.Object
		want map[string]interface{}
	}{
		{
			name: "ingress",
			obj: &networkingv1.Ingress{ObjectMeta: objectMeta("web"),
				Spec: networkingv1.IngressSpec{IngressClassName: stringPtr("nginx"), Rules: rules("a.example.com", "b.example.com"),
					TLS: []networkingv1.IngressTLS{{Hosts: []string{"a.example.com"}}}},
				Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{
					{IP: "203.0.113.20"}, {Hostname: "a-very-long-load-balancer-name.example.com"}}}}},
			want: map[string]interface{}{"NAME": "web", "CLASS": "nginx", "HOSTS": "a.example.com,b.example.com",
				"ADDRESS": "203.0.113.20,a-very-long-load-balancer-name.example.com", "PORTS": "80, 443", "AGE": "10m"},
		},
		{
			name: "ingress without class, hosts or address",
			obj:  &networkingv1.Ingress{ObjectMeta: objectMeta("web"), Spec: networkingv1.IngressSpec{Rules: rules("")}},
			want: map[string]interface{}{"CLASS": "<none>", "HOSTS": "*", "ADDRESS": "", "PORTS": "80"},
		},
		{
			name: "ingress with many rules",
			obj:  &networkingv1.Ingress{ObjectMeta: objectMeta("web"), Spec: networkingv1.IngressSpec{Rules: rules("", "a", "b", "c", "d")}},
			want: map[string]interface{}{"HOSTS": "a,b,c + 2 more..."},
		},
		{
			name: "ingress whose hostless rules come first",
			obj:  &networkingv1.Ingress{ObjectMeta: objectMeta("web"), Spec: networkingv1.IngressSpec{Rules: rules("", "", "a", "b")}},
			want: map[string]interface{}{"HOSTS": "a,b"},
		},
		{
			name: "ingress class with parameters",
			obj: &networkingv1.IngressClass{ObjectMeta: objectMeta("nginx"), Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx",
				Parameters: &networkingv1.IngressClassParametersReference{APIGroup: stringPtr("k8s.example.com"), Kind: "IngressParameters", Name: "external-lb"}}},
			want: map[string]interface{}{"NAME": "nginx", "CONTROLLER": "k8s.io/ingress-nginx", "PARAMETERS": "IngressParameters.k8s.example.com/external-lb", "AGE": "10m"},
		},
		{
			name: "ingress class with core parameters",
			obj: &networkingv1.IngressClass{ObjectMeta: objectMeta("nginx"), Spec: networkingv1.IngressClassSpec{Controller: "c",
				Parameters: &networkingv1.IngressClassParametersReference{Kind: "ConfigMap", Name: "cfg"}}},
			want: map[string]interface{}{"PARAMETERS": "ConfigMap/cfg"},
		},
		{
			name: "ingress class without parameters",
			obj:  &networkingv1.IngressClass{ObjectMeta: objectMeta("nginx")},
			want: map[string]interface{}{"PARAMETERS": "<none>"},
		},
		{
			name: "network policy",
			obj: &networkingv1.NetworkPolicy{ObjectMeta: objectMeta("deny"), Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}},
			want: map[string]interface{}{"NAME": "deny", "POD-SELECTOR": "app=db", "AGE": "10m"},
		},
		{
			name: "network policy selecting all pods",
			obj:  &networkingv1.NetworkPolicy{ObjectMeta: objectMeta("deny-all")},
			want: map[string]interface{}{"POD-SELECTOR": "<none>"},
		},
		{
			name: "endpoint slice",
			obj: &discoveryv1.EndpointSlice{ObjectMeta: objectMeta("web-abc12"), AddressType: discoveryv1.AddressTypeIPv4,
				Ports:     []discoveryv1.EndpointPort{port(80), {Name: stringPtr("metrics")}, {}},
				Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}, {Addresses: []string{"10.0.0.2", "10.0.0.3"}}, {Addresses: []string{"10.0.0.4"}}}},
			want: map[string]interface{}{"NAME": "web-abc12", "ADDRESSTYPE": "IPv4", "PORTS": "80,metrics,*", "ENDPOINTS": "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...", "AGE": "10m"},
		},
		{
			name: "empty endpoint slice",
			obj:  &discoveryv1.EndpointSlice{ObjectMeta: objectMeta("web-abc12"), AddressType: discoveryv1.AddressTypeIPv6},
			want: map[string]interface{}{"PORTS": "<unset>", "ENDPOINTS": "<unset>"},
		},
		{
			name: "endpoint slice with many ports",
			obj:  &discoveryv1.EndpointSlice{ObjectMeta: objectMeta("s"), Ports: []discoveryv1.EndpointPort{port(1), port(2), port(3), port(4)}},
			want: map[string]interface{}{"PORTS": "1,2,3 + 1 more..."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.obj), tc.want)
		})
	}
}

func TestClusterCells(t *testing.T) {
	retain := corev1.PersistentVolumeReclaimRetain
	waitForConsumer := storagev1.VolumeBindingWaitForFirstConsumer
	tests := []struct {
		name string
		obj  runtime.Object
		want map[string]interface{}
	}{
		{
			name: "default storage class",
			obj: &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local", CreationTimestamp: ago(10 * time.Minute),
				Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "navarch.dev/local"},
			want: map[string]interface{}{"NAME": "local (default)", "PROVISIONER": "navarch.dev/local", "RECLAIMPOLICY": "Delete",
				"VOLUMEBINDINGMODE": "Immediate", "ALLOWVOLUMEEXPANSION": false, "AGE": "10m"},
		},
		{
			name: "storage class with explicit policies, beta default annotation",
			obj: &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast",
				Annotations: map[string]string{"storageclass.beta.kubernetes.io/is-default-class": "true"}},
				ReclaimPolicy: &retain, VolumeBindingMode: &waitForConsumer, AllowVolumeExpansion: boolPtr(true)},
			want: map[string]interface{}{"NAME": "fast (default)", "RECLAIMPOLICY": "Retain", "VOLUMEBINDINGMODE": "WaitForFirstConsumer", "ALLOWVOLUMEEXPANSION": true},
		},
		{
			name: "storage class not default",
			obj: &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "slow",
				Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "false"}}},
			want: map[string]interface{}{"NAME": "slow"},
		},
		{
			name: "role binding",
			obj: &rbacv1.RoleBinding{ObjectMeta: objectMeta("read-pods"), RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "pod-reader"},
				Subjects: []rbacv1.Subject{{Kind: "User", Name: "jane"}, {Kind: "User", Name: "joe"}, {Kind: "Group", Name: "devs"},
					{Kind: "ServiceAccount", Namespace: "ci", Name: "builder"}}},
			want: map[string]interface{}{"NAME": "read-pods", "ROLE": "Role/pod-reader", "AGE": "10m", "USERS": "jane, joe", "GROUPS": "devs", "SERVICEACCOUNTS": "ci/builder"},
		},
		{
			name: "cluster role binding",
			obj: &rbacv1.ClusterRoleBinding{ObjectMeta: objectMeta("admins"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:masters"}}},
			want: map[string]interface{}{"ROLE": "ClusterRole/cluster-admin", "USERS": "", "GROUPS": "system:masters", "SERVICEACCOUNTS": ""},
		},
		{
			name: "pod disruption budget with min available",
			obj: &policyv1.PodDisruptionBudget{ObjectMeta: objectMeta("web"), Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: intOrString(intstr.FromInt32(2))},
				Status: policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1}},
			want: map[string]interface{}{"NAME": "web", "MIN AVAILABLE": "2", "MAX UNAVAILABLE": "N/A", "ALLOWED DISRUPTIONS": int64(1), "AGE": "10m"},
		},
		{
			name: "pod disruption budget with max unavailable percentage",
			obj:  &policyv1.PodDisruptionBudget{ObjectMeta: objectMeta("web"), Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: intOrString(intstr.FromString("25%"))}},
			want: map[string]interface{}{"MIN AVAILABLE": "N/A", "MAX UNAVAILABLE": "25%", "ALLOWED DISRUPTIONS": int64(0)},
		},
		{
			name: "held lease",
			obj:  &coordinationv1.Lease{ObjectMeta: objectMeta("navarch-scheduler"), Spec: coordinationv1.LeaseSpec{HolderIdentity: stringPtr("cp1_5f2a")}},
			want: map[string]interface{}{"NAME": "navarch-scheduler", "HOLDER": "cp1_5f2a", "AGE": "10m"},
		},
		{
			name: "free lease",
			obj:  &coordinationv1.Lease{ObjectMeta: objectMeta("navarch-scheduler")},
			want: map[string]interface{}{"HOLDER": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.obj), tc.want)
		})
	}
}

func intOrString(v intstr.IntOrString) *intstr.IntOrString { return &v }
