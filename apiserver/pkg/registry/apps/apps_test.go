package apps

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"navarch.dev/apiserver/pkg/registry"
)

var appLabels = map[string]string{"app": "web"}

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", UID: "uid", ResourceVersion: "1"}
}

func template(labels map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx:1.27"}}},
	}
}

func selector(labels map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: labels}
}

func deployment() *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: meta("web"), Spec: appsv1.DeploymentSpec{Selector: selector(appLabels), Template: template(appLabels)}}
}

func TestDeployments(t *testing.T) {
	d := deployment()
	if errs := resourcetest.Create(deploymentStrategy, d); len(errs) > 0 {
		t.Fatalf("valid deployment rejected: %v", errs)
	}
	ru := d.Spec.Strategy.RollingUpdate
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
		ru.MaxSurge.String() != "25%" || ru.MaxUnavailable.String() != "25%" || *d.Spec.RevisionHistoryLimit != 10 ||
		*d.Spec.ProgressDeadlineSeconds != 600 || d.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways ||
		d.Spec.Template.Spec.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("defaults not applied: %+v", d.Spec)
	}
	tests := []struct {
		name   string
		mutate func(d *appsv1.Deployment)
		want   []string
	}{
		{name: "selector required", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = nil },
			want: []string{"spec.selector: Required value"}},
		{name: "empty selector", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"spec.selector: Invalid value"}},
		{name: "selector does not match template", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = selector(map[string]string{"app": "db"}) },
			want: []string{"spec.template.metadata.labels: Invalid value"}},
		{name: "negative replicas", mutate: func(d *appsv1.Deployment) { n := int32(-1); d.Spec.Replicas = &n },
			want: []string{"spec.replicas: Invalid value"}},
		{name: "template restartPolicy", mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			want: []string{"spec.template.spec.restartPolicy: Unsupported value"}},
		{name: "both surge and unavailable zero", mutate: func(d *appsv1.Deployment) {
			zero := intstr.FromInt32(0)
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &zero, MaxUnavailable: &zero}
		}, want: []string{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value"}},
		{name: "Recreate with rollingUpdate", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{}}
		}, want: []string{"spec.strategy.rollingUpdate: Forbidden"}},
		{name: "progress deadline not above minReadySeconds", mutate: func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds = 600
		}, want: []string{"spec.progressDeadlineSeconds: Invalid value"}},
		{name: "invalid pod template", mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" },
			want: []string{"spec.template.spec.containers[0].image: Required value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deployment()
			tt.mutate(d)
			resourcetest.SameErrs(t, resourcetest.Create(deploymentStrategy, d), tt.want)
		})
	}
}

func TestWorkloadSelectorsAreImmutable(t *testing.T) {
	other := map[string]string{"app": "web", "tier": "x"}
	tests := []struct {
		name     string
		strategy registry.Strategy
		old      func() runtime.Object
		mutate   func(obj runtime.Object)
		want     []string
	}{
		{name: "deployment scale", strategy: deploymentStrategy, old: func() runtime.Object { return deployment() },
			mutate: func(o runtime.Object) { n := int32(5); o.(*appsv1.Deployment).Spec.Replicas = &n }},
		{name: "deployment selector", strategy: deploymentStrategy, old: func() runtime.Object { return deployment() },
			mutate: func(o runtime.Object) {
				d := o.(*appsv1.Deployment)
				d.Spec.Selector, d.Spec.Template.Labels = selector(other), other
			}, want: []string{"spec.selector: Invalid value"}},
		{name: "replicaset selector", strategy: replicaSetStrategy,
			old: func() runtime.Object {
				return &appsv1.ReplicaSet{ObjectMeta: meta("web"), Spec: appsv1.ReplicaSetSpec{Selector: selector(appLabels), Template: template(appLabels)}}
			},
			mutate: func(o runtime.Object) {
				rs := o.(*appsv1.ReplicaSet)
				rs.Spec.Selector, rs.Spec.Template.Labels = selector(other), other
			}, want: []string{"spec.selector: Invalid value"}},
		{name: "daemonset selector", strategy: daemonSetStrategy,
			old: func() runtime.Object {
				return &appsv1.DaemonSet{ObjectMeta: meta("web"), Spec: appsv1.DaemonSetSpec{Selector: selector(appLabels), Template: template(appLabels)}}
			},
			mutate: func(o runtime.Object) {
				ds := o.(*appsv1.DaemonSet)
				ds.Spec.Selector, ds.Spec.Template.Labels = selector(other), other
			}, want: []string{"spec.selector: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := tt.old()
			if errs := resourcetest.Create(tt.strategy, old); len(errs) > 0 {
				t.Fatal(errs)
			}
			obj := old.DeepCopyObject()
			tt.mutate(obj)
			resourcetest.SameErrs(t, resourcetest.Update(tt.strategy, obj, old), tt.want)
		})
	}
}

func TestStatefulSets(t *testing.T) {
	sts := func() *appsv1.StatefulSet {
		return &appsv1.StatefulSet{ObjectMeta: meta("db"), Spec: appsv1.StatefulSetSpec{
			Selector: selector(appLabels), Template: template(appLabels), ServiceName: "db",
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}, Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: mustQuantity("1Gi")}},
			}}},
		}}
	}
	s := sts()
	if errs := resourcetest.Create(statefulSetStrategy, s); len(errs) > 0 {
		t.Fatalf("valid statefulset rejected: %v", errs)
	}
	if s.Spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement || s.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType ||
		*s.Spec.UpdateStrategy.RollingUpdate.Partition != 0 || *s.Spec.Replicas != 1 || *s.Spec.RevisionHistoryLimit != 10 ||
		s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType ||
		*s.Spec.VolumeClaimTemplates[0].Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("defaults not applied: %+v", s.Spec)
	}
	tests := []struct {
		name   string
		mutate func(s *appsv1.StatefulSet)
		want   []string
		update bool
	}{
		{name: "name must be a DNS label", mutate: func(s *appsv1.StatefulSet) { s.Name = "db.main" }, want: []string{"metadata.name: Invalid value"}},
		{name: "bad podManagementPolicy", mutate: func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Random" },
			want: []string{"spec.podManagementPolicy: Invalid value"}},
		{name: "container mounts a claim template", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}},
		{name: "container mounts an unknown volume", mutate: func(s *appsv1.StatefulSet) {
			s.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "nope", MountPath: "/data"}}
		}, want: []string{"spec.template.spec.containers[0].volumeMounts[0].name: Not found"}},
		{name: "claim template without storage", mutate: func(s *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests = nil },
			want: []string{"spec.volumeClaimTemplates[0].spec.resources[storage]: Required value"}},
		{name: "update replicas and template", update: true, mutate: func(s *appsv1.StatefulSet) {
			n := int32(3)
			s.Spec.Replicas = &n
			s.Spec.Template.Spec.Containers[0].Image = "postgres:17"
		}},
		{name: "update serviceName", update: true, mutate: func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "other" },
			want: []string{"spec: Forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sts()
			if !tt.update {
				tt.mutate(s)
				resourcetest.SameErrs(t, resourcetest.Create(statefulSetStrategy, s), tt.want)
				return
			}
			if errs := resourcetest.Create(statefulSetStrategy, s); len(errs) > 0 {
				t.Fatal(errs)
			}
			n := s.DeepCopy()
			tt.mutate(n)
			resourcetest.SameErrs(t, resourcetest.Update(statefulSetStrategy, n, s), tt.want)
		})
	}
}

func TestDaemonSets(t *testing.T) {
	ds := func() *appsv1.DaemonSet {
		return &appsv1.DaemonSet{ObjectMeta: meta("agent"), Spec: appsv1.DaemonSetSpec{Selector: selector(appLabels), Template: template(appLabels)}}
	}
	d := ds()
	if errs := resourcetest.Create(daemonSetStrategy, d); len(errs) > 0 {
		t.Fatalf("valid daemonset rejected: %v", errs)
	}
	ru := d.Spec.UpdateStrategy.RollingUpdate
	if d.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru.MaxUnavailable.IntValue() != 1 || ru.MaxSurge.IntValue() != 0 ||
		*d.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("defaults not applied: %+v", d.Spec)
	}
	tests := []struct {
		name   string
		mutate func(d *appsv1.DaemonSet)
		want   []string
	}{
		{name: "surge and unavailable both set", mutate: func(d *appsv1.DaemonSet) {
			one := intstr.FromInt32(1)
			d.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &one}
		}, want: []string{"spec.updateStrategy.rollingUpdate.maxSurge: Invalid value"}},
		{name: "unknown update strategy", mutate: func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.Type = "Sometimes" },
			want: []string{"spec.updateStrategy.type: Unsupported value"}},
		{name: "activeDeadlineSeconds", mutate: func(d *appsv1.DaemonSet) { n := int64(5); d.Spec.Template.Spec.ActiveDeadlineSeconds = &n },
			want: []string{"spec.template.spec.activeDeadlineSeconds: Forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ds()
			tt.mutate(d)
			resourcetest.SameErrs(t, resourcetest.Create(daemonSetStrategy, d), tt.want)
		})
	}
}

func TestControllerRevisions(t *testing.T) {
	cr := func(data string, rev int64) *appsv1.ControllerRevision {
		c := &appsv1.ControllerRevision{ObjectMeta: meta("web-1"), Revision: rev}
		if data != "" {
			c.Data = runtime.RawExtension{Raw: []byte(data)}
		}
		return c
	}
	tests := []struct {
		name     string
		old, obj *appsv1.ControllerRevision
		want     []string
	}{
		{name: "valid", obj: cr(`{"a":1}`, 1)},
		{name: "data required", obj: cr("", 1), want: []string{"data: Required value"}},
		{name: "negative revision", obj: cr(`{}`, -1), want: []string{"revision: Invalid value"}},
		{name: "re-encoded data is unchanged", old: cr(`{"a":1,"b":2}`, 1), obj: cr(`{ "b": 2, "a": 1 }`, 2)},
		{name: "data is immutable", old: cr(`{"a":1}`, 1), obj: cr(`{"a":2}`, 1), want: []string{"data: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.old == nil {
				resourcetest.SameErrs(t, resourcetest.Create(controllerRevisionStrategy, tt.obj), tt.want)
				return
			}
			resourcetest.SameErrs(t, resourcetest.Update(controllerRevisionStrategy, tt.obj, tt.old), tt.want)
		})
	}
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
