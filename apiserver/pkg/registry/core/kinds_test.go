package core

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"navarch.dev/apiserver/pkg/registry"
)

func clusterMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, UID: "uid", ResourceVersion: "1"}
}

// kindCase is a create, or an update of old when old is set.
type kindCase struct {
	name     string
	strategy registry.Strategy
	old, obj runtime.Object
	want     []string
	check    func(t *testing.T, obj runtime.Object)
}

func runKindCases(t *testing.T, cases []kindCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var errs = resourcetest.Create(tt.strategy, tt.obj)
			if tt.old != nil {
				if e := resourcetest.Create(tt.strategy, tt.old); len(e) > 0 {
					t.Fatalf("old object invalid: %v", e)
				}
				errs = resourcetest.Update(tt.strategy, tt.obj, tt.old)
			}
			resourcetest.SameErrs(t, errs, tt.want)
			if tt.check != nil {
				tt.check(t, tt.obj)
			}
		})
	}
}

func TestNamespaces(t *testing.T) {
	ns := func(name string) *corev1.Namespace { return &corev1.Namespace{ObjectMeta: clusterMeta(name)} }
	runKindCases(t, []kindCase{
		{name: "defaults", strategy: namespaceStrategy, obj: ns("team-a"), check: func(t *testing.T, o runtime.Object) {
			n := o.(*corev1.Namespace)
			if n.Labels[corev1.LabelMetadataName] != "team-a" || n.Status.Phase != corev1.NamespaceActive ||
				len(n.Spec.Finalizers) != 1 || n.Spec.Finalizers[0] != corev1.FinalizerKubernetes {
				t.Errorf("namespace = %+v", n)
			}
		}},
		{name: "name must be a DNS label", strategy: namespaceStrategy, obj: ns("team.a"), want: []string{"metadata.name: Invalid value"}},
		{name: "bad finalizer", strategy: namespaceStrategy, obj: &corev1.Namespace{ObjectMeta: clusterMeta("a"),
			Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"custom"}}}, want: []string{"spec.finalizers: Invalid value"}},
		{name: "finalizers kept on update", strategy: namespaceStrategy, old: ns("a"), obj: ns("a"), check: func(t *testing.T, o runtime.Object) {
			if len(o.(*corev1.Namespace).Spec.Finalizers) != 1 {
				t.Errorf("finalizers = %v", o.(*corev1.Namespace).Spec.Finalizers)
			}
		}},
	})
}

func TestNodes(t *testing.T) {
	node := func(cidr string) *corev1.Node {
		return &corev1.Node{ObjectMeta: clusterMeta("node-1"), Spec: corev1.NodeSpec{PodCIDR: cidr}}
	}
	runKindCases(t, []kindCase{
		{name: "podCIDRs follow podCIDR", strategy: nodeStrategy, obj: node("10.244.1.0/24"), check: func(t *testing.T, o runtime.Object) {
			if c := o.(*corev1.Node).Spec.PodCIDRs; len(c) != 1 || c[0] != "10.244.1.0/24" {
				t.Errorf("podCIDRs = %v", c)
			}
		}},
		{name: "bad CIDR", strategy: nodeStrategy, obj: node("10.244.1.0/33"), want: []string{"spec.podCIDRs[0]: Invalid value"}},
		{name: "duplicate taint", strategy: nodeStrategy, obj: &corev1.Node{ObjectMeta: clusterMeta("n"), Spec: corev1.NodeSpec{Taints: []corev1.Taint{
			{Key: "a", Effect: corev1.TaintEffectNoSchedule}, {Key: "a", Value: "b", Effect: corev1.TaintEffectNoSchedule}}}},
			want: []string{"spec.taints[1]: Duplicate value"}},
		{name: "podCIDR may be set once", strategy: nodeStrategy, old: node(""), obj: node("10.244.1.0/24")},
		{name: "podCIDR may not change", strategy: nodeStrategy, old: node("10.244.1.0/24"), obj: node("10.244.2.0/24"),
			want: []string{"spec.podCIDRs: Forbidden"}},
	})
	if f := nodeFields(&corev1.Node{Spec: corev1.NodeSpec{Unschedulable: true}}); f["spec.unschedulable"] != "true" {
		t.Errorf("fields = %v", f)
	}
}

func TestConfigMapsAndSecrets(t *testing.T) {
	yes := true
	cm := func(data map[string]string, immutable *bool) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: objectMeta("cfg"), Data: data, Immutable: immutable}
	}
	secret := func(typ corev1.SecretType, data map[string][]byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: objectMeta("s"), Type: typ, Data: data}
	}
	runKindCases(t, []kindCase{
		{name: "configmap valid", strategy: configMapStrategy, obj: cm(map[string]string{"app.conf": "x"}, nil)},
		{name: "configmap bad key", strategy: configMapStrategy, obj: cm(map[string]string{"a/b": "x"}, nil), want: []string{"data[a/b]: Invalid value"}},
		{name: "configmap key in data and binaryData", strategy: configMapStrategy,
			obj:  &corev1.ConfigMap{ObjectMeta: objectMeta("c"), Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"k": nil}},
			want: []string{"data[k]: Invalid value"}},
		{name: "immutable configmap data", strategy: configMapStrategy, old: cm(map[string]string{"k": "v"}, &yes), obj: cm(map[string]string{"k": "w"}, &yes),
			want: []string{"data: Forbidden"}},
		{name: "immutable configmap may not become mutable", strategy: configMapStrategy, old: cm(map[string]string{"k": "v"}, &yes), obj: cm(map[string]string{"k": "v"}, nil),
			want: []string{"immutable: Forbidden"}},
		{name: "mutable configmap data", strategy: configMapStrategy, old: cm(map[string]string{"k": "v"}, nil), obj: cm(map[string]string{"k": "w"}, nil)},
		{name: "secret defaults to Opaque and merges stringData", strategy: secretStrategy,
			obj: &corev1.Secret{ObjectMeta: objectMeta("s"), Data: map[string][]byte{"a": []byte("1"), "b": []byte("2")}, StringData: map[string]string{"b": "two"}},
			check: func(t *testing.T, o runtime.Object) {
				s := o.(*corev1.Secret)
				if s.Type != corev1.SecretTypeOpaque || string(s.Data["b"]) != "two" || string(s.Data["a"]) != "1" || s.StringData != nil {
					t.Errorf("secret = %+v", s)
				}
			}},
		{name: "service account token needs the account annotation", strategy: secretStrategy, obj: secret(corev1.SecretTypeServiceAccountToken, nil),
			want: []string{"metadata.annotations[kubernetes.io/service-account.name]: Required value"}},
		{name: "dockerconfigjson needs its key", strategy: secretStrategy, obj: secret(corev1.SecretTypeDockerConfigJson, nil),
			want: []string{"data[.dockerconfigjson]: Required value"}},
		{name: "dockerconfigjson must be JSON", strategy: secretStrategy, obj: secret(corev1.SecretTypeDockerConfigJson, map[string][]byte{".dockerconfigjson": []byte("{")}),
			want: []string{"data[.dockerconfigjson]: Invalid value"}},
		{name: "tls needs cert and key", strategy: secretStrategy, obj: secret(corev1.SecretTypeTLS, nil),
			want: []string{"data[tls.crt]: Required value", "data[tls.key]: Required value"}},
		{name: "secret type is immutable", strategy: secretStrategy, old: secret(corev1.SecretTypeOpaque, nil), obj: secret("example.com/x", nil),
			want: []string{"type: Invalid value"}},
	})
}

func TestPersistentVolumes(t *testing.T) {
	q := resource.MustParse
	pv := func(modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{ObjectMeta: clusterMeta("pv-1"), Spec: corev1.PersistentVolumeSpec{
			AccessModes: modes, Capacity: corev1.ResourceList{corev1.ResourceStorage: q("1Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}},
		}}
	}
	pvc := func(size string, bound bool) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: objectMeta("data"), Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q(size)}},
		}}
		if bound {
			c.Spec.VolumeName = "pv-1"
		}
		return c
	}
	runKindCases(t, []kindCase{
		{name: "pv defaults", strategy: persistentVolumeStrategy, obj: pv(corev1.ReadWriteOnce), check: func(t *testing.T, o runtime.Object) {
			p := o.(*corev1.PersistentVolume)
			if p.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain || *p.Spec.VolumeMode != corev1.PersistentVolumeFilesystem ||
				p.Status.Phase != corev1.VolumePending {
				t.Errorf("pv = %+v", p)
			}
		}},
		{name: "pv needs access modes", strategy: persistentVolumeStrategy, obj: pv(), want: []string{"spec.accessModes: Required value"}},
		{name: "pv needs capacity", strategy: persistentVolumeStrategy, obj: func() runtime.Object {
			p := pv(corev1.ReadWriteOnce)
			p.Spec.Capacity = nil
			return p
		}(), want: []string{"spec.capacity: Required value"}},
		{name: "pv needs a source", strategy: persistentVolumeStrategy, obj: func() runtime.Object {
			p := pv(corev1.ReadWriteOnce)
			p.Spec.HostPath = nil
			return p
		}(), want: []string{"spec: Required value"}},
		{name: "pv source is immutable", strategy: persistentVolumeStrategy, old: pv(corev1.ReadWriteOnce), obj: func() runtime.Object {
			p := pv(corev1.ReadWriteOnce)
			p.Spec.HostPath.Path = "/other"
			return p
		}(), want: []string{"spec.persistentvolumesource: Forbidden"}},
		{name: "pvc defaults", strategy: persistentVolumeClaimStrategy, obj: pvc("1Gi", false), check: func(t *testing.T, o runtime.Object) {
			c := o.(*corev1.PersistentVolumeClaim)
			if *c.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || c.Status.Phase != corev1.ClaimPending {
				t.Errorf("pvc = %+v", c)
			}
		}},
		{name: "pvc needs a storage request", strategy: persistentVolumeClaimStrategy, obj: pvc("0", false), want: []string{"spec.resources[storage]: Invalid value"}},
		{name: "pvc needs access modes", strategy: persistentVolumeClaimStrategy, obj: func() runtime.Object {
			c := pvc("1Gi", false)
			c.Spec.AccessModes = nil
			return c
		}(), want: []string{"spec.accessModes: Required value"}},
		{name: "binder sets volumeName once", strategy: persistentVolumeClaimStrategy, old: pvc("1Gi", false), obj: pvc("1Gi", true)},
		{name: "unbound claim may not be resized", strategy: persistentVolumeClaimStrategy, old: pvc("1Gi", false), obj: pvc("2Gi", false),
			want: []string{"spec: Forbidden"}},
	})
}

func TestEndpointsAndEvents(t *testing.T) {
	ep := func(ip string, ports ...corev1.EndpointPort) *corev1.Endpoints {
		return &corev1.Endpoints{ObjectMeta: objectMeta("web"), Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: ip}}, Ports: ports}}}
	}
	ev := func(ns string) *corev1.Event {
		return &corev1.Event{ObjectMeta: objectMeta("web.1"), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", Namespace: ns}, Reason: "Started"}
	}
	runKindCases(t, []kindCase{
		{name: "endpoints port protocol defaults to TCP", strategy: endpointsStrategy, obj: ep("10.1.2.3", corev1.EndpointPort{Port: 80}), check: func(t *testing.T, o runtime.Object) {
			if p := o.(*corev1.Endpoints).Subsets[0].Ports[0].Protocol; p != corev1.ProtocolTCP {
				t.Errorf("protocol = %s", p)
			}
		}},
		{name: "endpoints loopback address", strategy: endpointsStrategy, obj: ep("127.0.0.1"), want: []string{"subsets[0].addresses[0].ip: Invalid value"}},
		{name: "endpoints two ports need names", strategy: endpointsStrategy, obj: ep("10.1.2.3", corev1.EndpointPort{Port: 80}, corev1.EndpointPort{Port: 81}),
			want: []string{"subsets[0].ports[0].name: Required value", "subsets[0].ports[1].name: Required value"}},
		{name: "endpoints subset without addresses", strategy: endpointsStrategy, obj: &corev1.Endpoints{ObjectMeta: objectMeta("web"), Subsets: []corev1.EndpointSubset{{}}},
			want: []string{"subsets[0]: Required value"}},
		{name: "event in the involved object's namespace", strategy: eventStrategy, obj: ev("default")},
		{name: "event in another namespace", strategy: eventStrategy, obj: ev("kube-system"), want: []string{"involvedObject.namespace: Invalid value"}},
	})
	f := eventFields(&corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web"}, ReportingController: "kubelet", Type: "Normal"})
	if f["involvedObject.kind"] != "Pod" || f["involvedObject.name"] != "web" || f["source"] != "kubelet" || f["reportingComponent"] != "kubelet" || f["type"] != "Normal" {
		t.Errorf("event fields = %v", f)
	}
}

func TestReplicationControllersAndTemplates(t *testing.T) {
	rc := func(selector map[string]string, labels map[string]string) *corev1.ReplicationController {
		return &corev1.ReplicationController{ObjectMeta: objectMeta("web"), Spec: corev1.ReplicationControllerSpec{
			Selector: selector,
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("app", "nginx")}}},
		}}
	}
	app := map[string]string{"app": "web"}
	runKindCases(t, []kindCase{
		{name: "selector, labels and replicas default from the template", strategy: replicationControllerStrategy, obj: rc(nil, app), check: func(t *testing.T, o runtime.Object) {
			r := o.(*corev1.ReplicationController)
			if r.Spec.Selector["app"] != "web" || r.Labels["app"] != "web" || *r.Spec.Replicas != 1 || r.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
				t.Errorf("rc = %+v", r)
			}
		}},
		{name: "selector must match template", strategy: replicationControllerStrategy, obj: rc(map[string]string{"app": "other"}, app),
			want: []string{"spec.template.metadata.labels: Invalid value"}},
		{name: "template restartPolicy must be Always", strategy: replicationControllerStrategy, obj: func() runtime.Object {
			r := rc(nil, app)
			r.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
			return r
		}(), want: []string{"spec.template.spec.restartPolicy: Unsupported value"}},
		{name: "template is required", strategy: replicationControllerStrategy, obj: &corev1.ReplicationController{ObjectMeta: objectMeta("web"),
			Spec: corev1.ReplicationControllerSpec{Selector: app}}, want: []string{"spec.template: Required value"}},
		{name: "pod template", strategy: podTemplateStrategy, obj: &corev1.PodTemplate{ObjectMeta: objectMeta("t"),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("app", "")}}}},
			want: []string{"template.spec.containers[0].image: Required value"}},
	})
	if f := replicationControllerFields(&corev1.ReplicationController{Status: corev1.ReplicationControllerStatus{Replicas: 3}}); f["status.replicas"] != "3" {
		t.Errorf("fields = %v", f)
	}
}

func TestQuotasAndLimitRanges(t *testing.T) {
	q := resource.MustParse
	quota := func(hard corev1.ResourceList) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{ObjectMeta: objectMeta("q"), Spec: corev1.ResourceQuotaSpec{Hard: hard}}
	}
	lr := func(item corev1.LimitRangeItem) *corev1.LimitRange {
		return &corev1.LimitRange{ObjectMeta: objectMeta("l"), Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{item}}}
	}
	runKindCases(t, []kindCase{
		{name: "quota valid", strategy: resourceQuotaStrategy, obj: quota(corev1.ResourceList{"pods": q("10"), "requests.cpu": q("4"), "count/deployments.apps": q("5")})},
		{name: "quota unknown resource", strategy: resourceQuotaStrategy, obj: quota(corev1.ResourceList{"widgets": q("1")}),
			want: []string{"spec.hard[widgets]: Invalid value"}},
		{name: "quota negative", strategy: resourceQuotaStrategy, obj: quota(corev1.ResourceList{"pods": q("-1")}),
			want: []string{"spec.hard[pods]: Invalid value"}},
		{name: "container limits default from max", strategy: limitRangeStrategy,
			obj: lr(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Max: cpuMem("1", "")}),
			check: func(t *testing.T, o runtime.Object) {
				item := o.(*corev1.LimitRange).Spec.Limits[0]
				if item.Default.Cpu().String() != "1" || item.DefaultRequest.Cpu().String() != "1" {
					t.Errorf("item = %+v", item)
				}
			}},
		{name: "min above max", strategy: limitRangeStrategy,
			obj:  lr(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer, Min: cpuMem("2", ""), Max: cpuMem("1", "")}),
			want: []string{"spec.limits[0].min[cpu]: Invalid value", "spec.limits[0].defaultRequest[cpu]: Invalid value", "spec.limits[0].default[cpu]: Invalid value"}},
		{name: "pod limits take no defaults", strategy: limitRangeStrategy,
			obj:  lr(corev1.LimitRangeItem{Type: corev1.LimitTypePod, Default: cpuMem("1", "")}),
			want: []string{"spec.limits[0].default: Forbidden"}},
	})
}

func TestBoundClaimResize(t *testing.T) {
	q := resource.MustParse
	tests := []struct {
		name, size string
		want       []string
	}{
		{name: "grow", size: "2Gi"},
		{name: "shrink to above capacity", size: "1536Mi"},
		{name: "shrink to capacity", size: "1Gi", want: []string{"spec.resources.requests.storage: Forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := &corev1.PersistentVolumeClaim{ObjectMeta: objectMeta("data"), Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, VolumeName: "pv-1",
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: q("3Gi")}},
			}}
			if errs := resourcetest.Create(persistentVolumeClaimStrategy, old); len(errs) > 0 {
				t.Fatal(errs)
			}
			old.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: corev1.ResourceList{corev1.ResourceStorage: q("1Gi")}}
			pvc := old.DeepCopy()
			pvc.Spec.Resources.Requests[corev1.ResourceStorage] = q(tt.size)
			resourcetest.SameErrs(t, resourcetest.Update(persistentVolumeClaimStrategy, pvc, old), tt.want)
		})
	}
}
