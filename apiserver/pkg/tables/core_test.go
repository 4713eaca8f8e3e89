package tables

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func makeService(name string, typ corev1.ServiceType, opts ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: objectMeta(name), Spec: corev1.ServiceSpec{Type: typ}}
	for _, o := range opts {
		o(svc)
	}
	return svc
}

func clusterIP(ip string) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.ClusterIP = ip; s.Spec.ClusterIPs = []string{ip} }
}

func port(p, nodePort int32, proto corev1.Protocol) func(*corev1.Service) {
	return func(s *corev1.Service) {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: p, NodePort: nodePort, Protocol: proto})
	}
}

func TestServiceCells(t *testing.T) {
	tests := []struct {
		name string
		svc  *corev1.Service
		want map[string]interface{}
	}{
		{
			name: "cluster IP",
			svc: makeService("web", corev1.ServiceTypeClusterIP, clusterIP("10.96.0.10"), port(80, 0, corev1.ProtocolTCP),
				func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "web"} }),
			want: map[string]interface{}{"NAME": "web", "TYPE": "ClusterIP", "CLUSTER-IP": "10.96.0.10", "EXTERNAL-IP": "<none>", "PORT(S)": "80/TCP", "AGE": "10m", "SELECTOR": "app=web"},
		},
		{
			name: "node port",
			svc:  makeService("web", corev1.ServiceTypeNodePort, clusterIP("10.96.0.11"), port(80, 30080, corev1.ProtocolTCP), port(53, 30053, corev1.ProtocolUDP)),
			want: map[string]interface{}{"EXTERNAL-IP": "<none>", "PORT(S)": "80:30080/TCP,53:30053/UDP", "SELECTOR": "<none>"},
		},
		{
			name: "external IPs",
			svc: makeService("web", corev1.ServiceTypeClusterIP, clusterIP("10.96.0.12"), port(80, 0, corev1.ProtocolTCP),
				func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"192.0.2.1", "192.0.2.2"} }),
			want: map[string]interface{}{"EXTERNAL-IP": "192.0.2.1,192.0.2.2"},
		},
		{
			name: "load balancer pending",
			svc:  makeService("web", corev1.ServiceTypeLoadBalancer, clusterIP("10.96.0.13"), port(443, 31443, corev1.ProtocolTCP)),
			want: map[string]interface{}{"EXTERNAL-IP": "<pending>", "PORT(S)": "443:31443/TCP"},
		},
		{
			name: "load balancer with ingress points, sorted and not shortened",
			svc: makeService("web", corev1.ServiceTypeLoadBalancer, clusterIP("10.96.0.14"), func(s *corev1.Service) {
				s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "lb.example.com"}, {IP: "203.0.113.9"}, {IP: "203.0.113.9"}}
			}),
			want: map[string]interface{}{"EXTERNAL-IP": "203.0.113.9,lb.example.com"},
		},
		{
			name: "load balancer ingress then external IPs",
			svc: makeService("web", corev1.ServiceTypeLoadBalancer, clusterIP("10.96.0.15"), func(s *corev1.Service) {
				s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.9"}}
				s.Spec.ExternalIPs = []string{"192.0.2.1"}
			}),
			want: map[string]interface{}{"EXTERNAL-IP": "203.0.113.9,192.0.2.1"},
		},
		{
			name: "external name",
			svc:  makeService("db", corev1.ServiceTypeExternalName, func(s *corev1.Service) { s.Spec.ExternalName = "db.example.com" }),
			want: map[string]interface{}{"CLUSTER-IP": "<none>", "EXTERNAL-IP": "db.example.com", "PORT(S)": "<none>"},
		},
		{
			name: "headless",
			svc:  makeService("web", corev1.ServiceTypeClusterIP, clusterIP("None"), port(80, 0, corev1.ProtocolTCP)),
			want: map[string]interface{}{"CLUSTER-IP": "None"},
		},
		{
			name: "clusterIPs only",
			svc:  makeService("web", corev1.ServiceTypeClusterIP, func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.96.0.16", "fd00::16"} }),
			want: map[string]interface{}{"CLUSTER-IP": "10.96.0.16"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.svc), tc.want)
		})
	}
}

func makeNode(name string, opts ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{ObjectMeta: objectMeta(name)}
	n.Namespace = ""
	for _, o := range opts {
		o(n)
	}
	return n
}

func nodeReady(s corev1.ConditionStatus) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Status.Conditions = append(n.Status.Conditions,
			corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
			corev1.NodeCondition{Type: corev1.NodeReady, Status: s})
	}
}

func nodeLabels(kv ...string) func(*corev1.Node) {
	return func(n *corev1.Node) {
		n.Labels = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

func TestNodeCells(t *testing.T) {
	tests := []struct {
		name string
		node *corev1.Node
		want map[string]interface{}
	}{
		{
			name: "ready worker",
			node: makeNode("node-a", nodeReady(corev1.ConditionTrue), func(n *corev1.Node) {
				n.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "v1.34.1", OSImage: "Debian GNU/Linux 12 (bookworm)", KernelVersion: "6.1.0-18-amd64", ContainerRuntimeVersion: "containerd://1.6.20"}
				n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "node-a"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.10"}}
			}),
			want: map[string]interface{}{
				"NAME": "node-a", "STATUS": "Ready", "ROLES": "<none>", "AGE": "10m", "VERSION": "v1.34.1",
				"INTERNAL-IP": "192.168.1.10", "EXTERNAL-IP": "<none>", "OS-IMAGE": "Debian GNU/Linux 12 (bookworm)",
				"KERNEL-VERSION": "6.1.0-18-amd64", "CONTAINER-RUNTIME": "containerd://1.6.20",
			},
		},
		{
			name: "cordoned",
			node: makeNode("node-a", nodeReady(corev1.ConditionTrue), func(n *corev1.Node) { n.Spec.Unschedulable = true }),
			want: map[string]interface{}{"STATUS": "Ready,SchedulingDisabled"},
		},
		{
			name: "not ready",
			node: makeNode("node-a", nodeReady(corev1.ConditionFalse)),
			want: map[string]interface{}{"STATUS": "NotReady"},
		},
		{
			name: "ready unknown",
			node: makeNode("node-a", nodeReady(corev1.ConditionUnknown)),
			want: map[string]interface{}{"STATUS": "NotReady"},
		},
		{
			name: "no ready condition yet, cordoned",
			node: makeNode("node-a", func(n *corev1.Node) { n.Spec.Unschedulable = true }),
			want: map[string]interface{}{"STATUS": "Unknown,SchedulingDisabled", "OS-IMAGE": "<unknown>", "KERNEL-VERSION": "<unknown>", "CONTAINER-RUNTIME": "<unknown>", "VERSION": ""},
		},
		{
			name: "roles from role labels, sorted",
			node: makeNode("node-a", nodeLabels(
				"node-role.kubernetes.io/control-plane", "",
				"node-role.kubernetes.io/etcd", "true",
				"kubernetes.io/role", "ingress",
				"node-role.kubernetes.io/", "",
				"kubernetes.io/hostname", "node-a")),
			want: map[string]interface{}{"ROLES": "control-plane,etcd,ingress"},
		},
		{
			name: "external IP",
			node: makeNode("node-a", func(n *corev1.Node) {
				n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: "203.0.113.4"}, {Type: corev1.NodeExternalIP, Address: "203.0.113.5"}}
			}),
			want: map[string]interface{}{"INTERNAL-IP": "<none>", "EXTERNAL-IP": "203.0.113.4"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.node), tc.want)
		})
	}
}

func TestEndpointsCells(t *testing.T) {
	addrs := func(ips ...string) []corev1.EndpointAddress {
		var out []corev1.EndpointAddress
		for _, ip := range ips {
			out = append(out, corev1.EndpointAddress{IP: ip})
		}
		return out
	}
	tests := []struct {
		name    string
		subsets []corev1.EndpointSubset
		want    string
	}{
		{"none", nil, "<none>"},
		{"one port", []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2"), Ports: []corev1.EndpointPort{{Port: 8080}}}}, "10.0.0.1:8080,10.0.0.2:8080"},
		{"headless without ports", []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1")}}, "10.0.0.1"},
		{"IPv6", []corev1.EndpointSubset{{Addresses: addrs("fd00::1"), Ports: []corev1.EndpointPort{{Port: 80}}}}, "[fd00::1]:80"},
		{
			name:    "more than three",
			subsets: []corev1.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3"), Ports: []corev1.EndpointPort{{Port: 80}, {Port: 443}}}},
			want:    "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 3 more...",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := &corev1.Endpoints{ObjectMeta: objectMeta("web"), Subsets: tc.subsets}
			assertCells(t, row(t, ep), map[string]interface{}{"NAME": "web", "ENDPOINTS": tc.want, "AGE": "10m"})
		})
	}
}

func TestSmallCoreKinds(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
		want map[string]interface{}
	}{
		{
			name: "namespace",
			obj:  &corev1.Namespace{ObjectMeta: objectMeta("prod"), Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
			want: map[string]interface{}{"NAME": "prod", "STATUS": "Terminating", "AGE": "10m"},
		},
		{
			name: "configmap counts data and binary data",
			obj:  &corev1.ConfigMap{ObjectMeta: objectMeta("cfg"), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"c": {1}}},
			want: map[string]interface{}{"NAME": "cfg", "DATA": int64(3), "AGE": "10m"},
		},
		{
			name: "secret",
			obj:  &corev1.Secret{ObjectMeta: objectMeta("tls"), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}},
			want: map[string]interface{}{"NAME": "tls", "TYPE": "kubernetes.io/tls", "DATA": int64(2)},
		},
		{
			name: "service account",
			obj:  &corev1.ServiceAccount{ObjectMeta: objectMeta("default")},
			want: map[string]interface{}{"NAME": "default", "SECRETS": int64(0), "AGE": "10m"},
		},
		{
			name: "pod template",
			obj: &corev1.PodTemplate{ObjectMeta: objectMeta("tmpl"), Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "front"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}, {Name: "log", Image: "busybox"}}},
			}},
			want: map[string]interface{}{"CONTAINERS": "app,log", "IMAGES": "nginx:1.27,busybox", "POD LABELS": "app=web,tier=front"},
		},
		{
			name: "replication controller",
			obj: &corev1.ReplicationController{ObjectMeta: objectMeta("rc"),
				Spec: corev1.ReplicationControllerSpec{Replicas: int32Ptr(3), Selector: map[string]string{"app": "web"},
					Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}},
				Status: corev1.ReplicationControllerStatus{Replicas: 3, ReadyReplicas: 2}},
			want: map[string]interface{}{"DESIRED": int64(3), "CURRENT": int64(3), "READY": int64(2), "CONTAINERS": "app", "IMAGES": "nginx", "SELECTOR": "app=web"},
		},
		{
			name: "replication controller without template",
			obj:  &corev1.ReplicationController{ObjectMeta: objectMeta("rc")},
			want: map[string]interface{}{"DESIRED": int64(1), "CONTAINERS": "", "SELECTOR": "<none>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.obj), tc.want)
		})
	}
}

func TestPersistentVolumeCells(t *testing.T) {
	block := corev1.PersistentVolumeBlock
	deleted := ago(time.Second)
	tests := []struct {
		name string
		obj  runtime.Object
		want map[string]interface{}
	}{
		{
			name: "bound volume",
			obj: &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1", CreationTimestamp: ago(2 * time.Hour)},
				Spec: corev1.PersistentVolumeSpec{
					Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
					AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce},
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
					ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: "data"},
					StorageClassName:              "local",
				},
				Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}},
			want: map[string]interface{}{
				"NAME": "pv-1", "CAPACITY": "10Gi", "ACCESS MODES": "RWO,RWX", "RECLAIM POLICY": "Retain", "STATUS": "Bound",
				"CLAIM": "default/data", "STORAGECLASS": "local", "VOLUMEATTRIBUTESCLASS": "<unset>", "REASON": "", "AGE": "120m", "VOLUMEMODE": "<unset>",
			},
		},
		{
			name: "released, beta class annotation, block, being deleted",
			obj: &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-2", DeletionTimestamp: &deleted,
				Annotations: map[string]string{"volume.beta.kubernetes.io/storage-class": "old"}},
				Spec:   corev1.PersistentVolumeSpec{StorageClassName: "new", VolumeMode: &block, VolumeAttributesClassName: stringPtr("gold")},
				Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeReleased, Reason: "Recycled"}},
			want: map[string]interface{}{"CAPACITY": "0", "ACCESS MODES": "", "STATUS": "Terminating", "CLAIM": "", "STORAGECLASS": "old", "VOLUMEATTRIBUTESCLASS": "gold", "REASON": "Recycled", "VOLUMEMODE": "Block", "AGE": "<unknown>"},
		},
		{
			name: "bound claim shows the volume's capacity",
			obj: &corev1.PersistentVolumeClaim{ObjectMeta: objectMeta("data"),
				Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-1", StorageClassName: stringPtr("local"),
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}}},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod},
					Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}}},
			want: map[string]interface{}{"NAME": "data", "STATUS": "Bound", "VOLUME": "pv-1", "CAPACITY": "10Gi", "ACCESS MODES": "RWOP", "STORAGECLASS": "local", "VOLUMEATTRIBUTESCLASS": "<unset>", "AGE": "10m", "VOLUMEMODE": "<unset>"},
		},
		{
			name: "pending claim",
			obj: &corev1.PersistentVolumeClaim{ObjectMeta: objectMeta("data"),
				Spec:   corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}}},
				Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}},
			want: map[string]interface{}{"STATUS": "Pending", "VOLUME": "", "CAPACITY": "", "ACCESS MODES": "", "STORAGECLASS": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.obj), tc.want)
		})
	}
}

func TestResourceQuotaCells(t *testing.T) {
	q := &corev1.ResourceQuota{ObjectMeta: objectMeta("compute"), Status: corev1.ResourceQuotaStatus{
		Hard: corev1.ResourceList{"pods": resource.MustParse("10"), "requests.cpu": resource.MustParse("4"), "limits.memory": resource.MustParse("8Gi"), "limits.cpu": resource.MustParse("8")},
		Used: corev1.ResourceList{"pods": resource.MustParse("3"), "requests.cpu": resource.MustParse("1500m"), "limits.cpu": resource.MustParse("2")},
	}}
	tests := []struct {
		name string
		obj  *corev1.ResourceQuota
		want map[string]interface{}
	}{
		{
			name: "requests and limits split, sorted",
			obj:  q,
			want: map[string]interface{}{"NAME": "compute", "REQUEST": "pods: 3/10, requests.cpu: 1500m/4", "LIMIT": "limits.cpu: 2/8, limits.memory: 0/8Gi", "AGE": "10m"},
		},
		{
			name: "empty",
			obj:  &corev1.ResourceQuota{ObjectMeta: objectMeta("none")},
			want: map[string]interface{}{"REQUEST": "", "LIMIT": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.obj), tc.want)
		})
	}
}
