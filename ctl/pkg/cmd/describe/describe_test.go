package describe_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/e2e/clitest"
)

// times matches the timestamps describe prints (RFC 1123 with a numeric zone).
var times = regexp.MustCompile(`[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}`)

// What the server assigns or what depends on when the test runs: UIDs,
// RFC 3339 timestamps, resource versions and the ages of a node's pods.
var (
	uids     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	rfc3339  = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z`)
	versions = regexp.MustCompile(`Resource Version:( +)\d+`)
	podAges  = regexp.MustCompile(`(?m)(\(\d+%\) +)\d+[smh](\d+s)?$`)
)

func normalize(s string) string {
	s = times.ReplaceAllString(s, "<time>")
	s = rfc3339.ReplaceAllString(s, "<time>")
	s = uids.ReplaceAllString(s, "<uid>")
	s = versions.ReplaceAllString(s, "Resource Version:${1}<rv>")
	return podAges.ReplaceAllString(s, "${1}<age>")
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func makeEvent(t *testing.T, c kubernetes.Interface, name string, obj corev1.ObjectReference, typ, reason, msg string, count int32, first, last time.Duration) {
	t.Helper()
	now := time.Now()
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: obj.Namespace},
		InvolvedObject: obj,
		Type:           typ, Reason: reason, Message: msg, Count: count,
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp: metav1.NewTime(now.Add(-first)),
		LastTimestamp:  metav1.NewTime(now.Add(-last)),
	}
	if ev.Namespace == "" {
		ev.Namespace = "default"
	}
	must[*corev1.Event](t)(c.CoreV1().Events(ev.Namespace).Create(context.Background(), ev, metav1.CreateOptions{}))
}

func TestDescribe(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()

	node := must[*corev1.Node](t)(c.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}},
		Spec:       corev1.NodeSpec{PodCIDR: "10.244.0.0/24", PodCIDRs: []string{"10.244.0.0/24"}, Taints: []corev1.Taint{{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule}}},
	}, metav1.CreateOptions{}))
	node.Status = corev1.NodeStatus{
		Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")},
		Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")},
		Addresses:   []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.10"}},
		NodeInfo:    corev1.NodeSystemInfo{KernelVersion: "6.1.0", OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "containerd://1.6.20", KubeletVersion: "v1.34.0"},
	}
	must[*corev1.Node](t)(c.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}))
	holder := "node-1"
	must[*coordinationv1.Lease](t)(c.CoordinationV1().Leases("kube-node-lease").Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Namespace: "kube-node-lease"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder},
	}, metav1.CreateOptions{}))

	pod := must[*corev1.Pod](t)(c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{"app": "web", "tier": "front"}, Annotations: map[string]string{"note": "hello"}},
		Spec: corev1.PodSpec{
			NodeName: "node-1",
			Containers: []corev1.Container{{
				Name: "app", Image: "nginx:1.25",
				Command: []string{"nginx", "-g", "daemon off;"},
				Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
				Env: []corev1.EnvVar{
					{Name: "MODE", Value: "prod"},
					{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
				},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("1Gi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
				},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}},
				VolumeMounts:   []corev1.VolumeMount{{Name: "data", MountPath: "/data"}, {Name: "cfg", MountPath: "/etc/cfg", ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{
				{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
			},
			Tolerations: []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "infra", Effect: corev1.TaintEffectNoSchedule}},
		},
	}, metav1.CreateOptions{}))
	started := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	pod.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, HostIP: "192.168.1.10", PodIP: "10.244.0.5", PodIPs: []corev1.PodIP{{IP: "10.244.0.5"}}, StartTime: &started,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", Image: "nginx:1.25", ImageID: "sha256:abc", ContainerID: "containerd://123", Ready: true, RestartCount: 1,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
		}},
	}
	pod = must[*corev1.Pod](t)(c.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}))
	ref := corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", UID: pod.UID, APIVersion: "v1"}
	makeEvent(t, c, "web-1.a", ref, "Normal", "Scheduled", "Successfully assigned default/web-1 to node-1", 1, 20*time.Minute+30*time.Second, 20*time.Minute+30*time.Second)
	makeEvent(t, c, "web-1.b", ref, "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500", 4, 15*time.Minute+30*time.Second, 12*time.Minute+30*time.Second)
	// An event about another object with the same name is not web-1's.
	makeEvent(t, c, "web-1.c", corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", UID: "other"}, "Normal", "Old", "from an earlier pod", 1, time.Hour, time.Hour)

	must[*corev1.Pod](t)(c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-2", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{}))

	replicas := int32(2)
	must[*appsv1.Deployment](t)(c.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "httpd", Namespace: "default", Labels: map[string]string{"app": "httpd"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "httpd"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "httpd"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "httpd", Image: "httpd:2.4", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}},
			},
		},
	}, metav1.CreateOptions{}))

	must[*corev1.Service](t)(c.CoreV1().Services("default").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			ClusterIP: "10.96.0.50", Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
		},
	}, metav1.CreateOptions{}))
	port, portName, ready, notReady := int32(80), "http", true, false
	must[*discoveryv1.EndpointSlice](t)(c.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-x", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.244.0.5"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}},
			{Addresses: []string{"10.244.0.6"}, Conditions: discoveryv1.EndpointConditions{Ready: &notReady}},
		},
		Ports: []discoveryv1.EndpointPort{{Name: &portName, Port: &port}},
	}, metav1.CreateOptions{}))

	must[*corev1.ConfigMap](t)(c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "default"},
		Data:       map[string]string{"a": "hello", "b": "two\nlines"},
	}, metav1.CreateOptions{}))
	must[*corev1.Secret](t)(c.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "default"},
		StringData: map[string]string{"password": "s3cret-value", "user": "admin"},
	}, metav1.CreateOptions{}))

	tests := []struct {
		name string
		args []string
	}{
		{name: "pod", args: []string{"describe", "pod", "web-1"}},
		{name: "deployment", args: []string{"describe", "deploy/httpd"}},
		{name: "service", args: []string{"describe", "svc", "web"}},
		{name: "configmap", args: []string{"describe", "configmap", "cfg"}},
		{name: "secret", args: []string{"describe", "secret", "creds"}},
		{name: "node", args: []string{"describe", "node", "node-1"}},
		{name: "namespace", args: []string{"describe", "ns", "default"}},
		{name: "generic", args: []string{"describe", "lease", "node-1", "-n", "kube-node-lease"}},
		{name: "selector", args: []string{"describe", "pods", "-l", "app=web", "--show-events=false"}},
		{name: "name prefix", args: []string{"describe", "pods", "web", "--show-events=false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := normalize(env.OK(t, "", tc.args...))
			want := want[tc.name]
			if got != want {
				t.Errorf("navctl %s:\ngot:\n%s\nwant:\n%s", strings.Join(tc.args, " "), got, want)
			}
		})
	}

	failures := []struct {
		name, stderr string
		args         []string
		code         int
	}{
		{name: "not found", args: []string{"describe", "pod", "nope"}, code: 1, stderr: "Error from server (NotFound): pods \"nope\" not found\n"},
		{name: "no prefix match with two names", args: []string{"describe", "pod", "web", "nope"}, code: 1, stderr: "Error from server (NotFound): pods \"web\" not found\nError from server (NotFound): pods \"nope\" not found\n"},
		{name: "unknown type", args: []string{"describe", "nope"}, code: 1, stderr: "error: the server doesn't have a resource type \"nope\"\n"},
		{name: "no type", args: []string{"describe"}, code: 1, stderr: "error: You must specify the type of resource to describe. Use \"navctl api-resources\" for a complete list of supported resources.\n"},
		{name: "nothing in the namespace", args: []string{"describe", "jobs"}, stderr: "No resources found in default namespace.\n"},
		{name: "nothing cluster-wide", args: []string{"describe", "pv"}, stderr: "No resources found\n"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			r := env.Run(t, "", tc.args...)
			if r.Code != tc.code || r.Stdout != "" || r.Stderr != tc.stderr {
				t.Errorf("navctl %s: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", strings.Join(tc.args, " "), r.Code, r.Stdout, r.Stderr, tc.code, tc.stderr)
			}
		})
	}

	t.Run("secret values stay hidden", func(t *testing.T) {
		if out := env.OK(t, "", "describe", "secrets"); strings.Contains(out, "s3cret") {
			t.Errorf("secret value printed:\n%s", out)
		}
	})
}
