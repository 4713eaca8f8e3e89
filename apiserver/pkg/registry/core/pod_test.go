package core

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestPodDefaults(t *testing.T) {
	pod := makePod("web", corev1.Container{
		Name: "app", Image: "nginx",
		Ports:          []corev1.ContainerPort{{ContainerPort: 80}},
		LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9000}}},
		Resources:      resources(nil, cpuMem("500m", "128Mi")),
	})
	pod.Spec.Volumes = []corev1.Volume{{Name: "scratch"}, {Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}
	if errs := resourcetest.Create(podStrategy, pod); len(errs) > 0 {
		t.Fatalf("valid pod rejected: %v", errs)
	}
	spec, c := &pod.Spec, &pod.Spec.Containers[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"restartPolicy", spec.RestartPolicy, corev1.RestartPolicyAlways},
		{"dnsPolicy", spec.DNSPolicy, corev1.DNSClusterFirst},
		{"terminationGracePeriodSeconds", *spec.TerminationGracePeriodSeconds, int64(30)},
		{"schedulerName", spec.SchedulerName, "default-scheduler"},
		{"securityContext set", spec.SecurityContext != nil, true},
		{"enableServiceLinks", *spec.EnableServiceLinks, true},
		{"priority", *spec.Priority, int32(0)},
		{"preemptionPolicy", *spec.PreemptionPolicy, corev1.PreemptLowerPriority},
		{"terminationMessagePath", c.TerminationMessagePath, "/dev/termination-log"},
		{"terminationMessagePolicy", c.TerminationMessagePolicy, corev1.TerminationMessageReadFile},
		{"imagePullPolicy", c.ImagePullPolicy, corev1.PullAlways},
		{"port protocol", c.Ports[0].Protocol, corev1.ProtocolTCP},
		{"probe timeoutSeconds", c.LivenessProbe.TimeoutSeconds, int32(1)},
		{"probe periodSeconds", c.LivenessProbe.PeriodSeconds, int32(10)},
		{"probe successThreshold", c.LivenessProbe.SuccessThreshold, int32(1)},
		{"probe failureThreshold", c.LivenessProbe.FailureThreshold, int32(3)},
		{"httpGet scheme", c.LivenessProbe.HTTPGet.Scheme, corev1.URISchemeHTTP},
		{"httpGet path", c.LivenessProbe.HTTPGet.Path, "/"},
		{"grpc service", *c.ReadinessProbe.GRPC.Service, ""},
		{"cpu request from limit", c.Resources.Requests.Cpu().String(), "500m"},
		{"memory request from limit", c.Resources.Requests.Memory().String(), "128Mi"},
		{"resize policies", len(c.ResizePolicy), 2},
		{"volume without source", spec.Volumes[0].EmptyDir != nil, true},
		{"configMap defaultMode", *spec.Volumes[1].ConfigMap.DefaultMode, int32(0644)},
		{"status.phase", pod.Status.Phase, corev1.PodPending},
		{"status.qosClass", pod.Status.QOSClass, corev1.PodQOSGuaranteed},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

func TestImagePullPolicyDefault(t *testing.T) {
	tests := []struct {
		name, image string
		want        corev1.PullPolicy
	}{
		{name: "untagged", image: "nginx", want: corev1.PullAlways},
		{name: "latest", image: "nginx:latest", want: corev1.PullAlways},
		{name: "tagged", image: "nginx:1.27", want: corev1.PullIfNotPresent},
		{name: "registry with port, untagged", image: "localhost:5000/nginx", want: corev1.PullAlways},
		{name: "registry with port, tagged", image: "localhost:5000/nginx:v1", want: corev1.PullIfNotPresent},
		{name: "digest only", image: "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", want: corev1.PullIfNotPresent},
		{name: "tag and digest", image: "nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", want: corev1.PullAlways},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := makePod("p", ctr("c", tt.image))
			podStrategy.Default(pod)
			if got := pod.Spec.Containers[0].ImagePullPolicy; got != tt.want {
				t.Errorf("imagePullPolicy = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPodQOSClass(t *testing.T) {
	withRes := func(r corev1.ResourceRequirements) corev1.Container {
		c := ctr("c", "img")
		c.Resources = r
		return c
	}
	tests := []struct {
		name       string
		containers []corev1.Container
		init       []corev1.Container
		want       corev1.PodQOSClass
	}{
		{name: "no resources", containers: []corev1.Container{ctr("c", "img")}, want: corev1.PodQOSBestEffort},
		{name: "requests only", containers: []corev1.Container{withRes(resources(cpuMem("100m", ""), nil))}, want: corev1.PodQOSBurstable},
		{name: "limits on cpu and memory", containers: []corev1.Container{withRes(resources(nil, cpuMem("1", "1Gi")))}, want: corev1.PodQOSGuaranteed},
		{name: "limits on cpu only", containers: []corev1.Container{withRes(resources(nil, cpuMem("1", "")))}, want: corev1.PodQOSBurstable},
		{name: "requests below limits", containers: []corev1.Container{withRes(resources(cpuMem("500m", "1Gi"), cpuMem("1", "1Gi")))}, want: corev1.PodQOSBurstable},
		{name: "one guaranteed, one best-effort container", containers: []corev1.Container{withRes(resources(nil, cpuMem("1", "1Gi"))), ctr("d", "img")}, want: corev1.PodQOSBurstable},
		{name: "init container without limits", containers: []corev1.Container{withRes(resources(nil, cpuMem("1", "1Gi")))},
			init: []corev1.Container{ctr("i", "img")}, want: corev1.PodQOSBurstable},
		{name: "only extended resources", containers: []corev1.Container{withRes(resources(nil, corev1.ResourceList{"example.com/gpu": resource.MustParse("1")}))}, want: corev1.PodQOSBestEffort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := makePod("p", tt.containers...)
			pod.Spec.InitContainers = tt.init
			podStrategy.PrepareForCreate(pod)
			if pod.Status.QOSClass != tt.want {
				t.Errorf("qosClass = %s, want %s", pod.Status.QOSClass, tt.want)
			}
		})
	}
}

func TestPodValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
	}{
		{name: "valid", mutate: func(p *corev1.Pod) {}},
		{name: "no containers", mutate: func(p *corev1.Pod) { p.Spec.Containers = nil },
			want: []string{"spec.containers: Required value"}},
		{name: "container name not a DNS label", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Name = "App_1" },
			want: []string{"spec.containers[0].name: Invalid value"}},
		{name: "duplicate container names across init and regular", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{ctr("app", "busybox")}
		}, want: []string{"spec.initContainers[0].name: Duplicate value"}},
		{name: "image required", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			want: []string{"spec.containers[0].image: Required value"}},
		{name: "port out of range", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000}}
		}, want: []string{"spec.containers[0].ports[0].containerPort: Invalid value"}},
		{name: "unknown protocol", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: "ICMP"}}
		}, want: []string{"spec.containers[0].ports[0].protocol: Unsupported value"}},
		{name: "duplicate port names", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 80}, {Name: "http", ContainerPort: 81}}
		}, want: []string{"spec.containers[0].ports[1].name: Duplicate value"}},
		{name: "duplicate volume names", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v"}, {Name: "v"}}
		}, want: []string{"spec.volumes[1].name: Duplicate value"}},
		{name: "volume with two sources", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
				EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{Path: "/tmp"}}}}
		}, want: []string{"spec.volumes[0].emptyDir: Forbidden"}},
		{name: "secret volume without name", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}}}
		}, want: []string{"spec.volumes[0].secret.secretName: Required value"}},
		{name: "mount of a missing volume", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, want: []string{"spec.containers[0].volumeMounts[0].name: Not found"}},
		{name: "restartPolicy not supported", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			want: []string{"spec.restartPolicy: Unsupported value"}},
		{name: "dnsPolicy not supported", mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" },
			want: []string{"spec.dnsPolicy: Unsupported value"}},
		{name: "dnsPolicy None needs dnsConfig", mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone },
			want: []string{"spec.dnsConfig: Required value"}},
		{name: "request above limit", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = resources(cpuMem("2", ""), cpuMem("1", ""))
		}, want: []string{"spec.containers[0].resources.requests: Invalid value"}},
		{name: "unknown resource name", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = resources(corev1.ResourceList{"gpus": resource.MustParse("1")}, nil)
		}, want: []string{"spec.containers[0].resources.requests[gpus]: Invalid value"}},
		{name: "liveness probe successThreshold", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, SuccessThreshold: 2}
		}, want: []string{"spec.containers[0].livenessProbe.successThreshold: Invalid value"}},
		{name: "probe without handler", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
		}, want: []string{"spec.containers[0].readinessProbe: Required value"}},
		{name: "probe on a plain init container", mutate: func(p *corev1.Pod) {
			i := ctr("init", "busybox")
			i.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(1)}}}
			p.Spec.InitContainers = []corev1.Container{i}
		}, want: []string{"spec.initContainers[0].readinessProbe: Forbidden"}},
		{name: "sidecar init container may have probes", mutate: func(p *corev1.Pod) {
			i := ctr("sidecar", "busybox")
			always := corev1.ContainerRestartPolicyAlways
			i.RestartPolicy = &always
			i.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(1)}}}
			p.Spec.InitContainers = []corev1.Container{i}
		}},
		{name: "env var from two sources", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
				FieldRef:        &corev1.ObjectFieldSelector{FieldPath: "metadata.name"},
				SecretKeyRef:    &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"},
				ConfigMapKeyRef: nil}}}
		}, want: []string{"spec.containers[0].env[0].valueFrom: Invalid value"}},
		{name: "env fieldRef to unsupported field", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.containers"}}}}
		}, want: []string{"spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value"}},
		{name: "toleration with empty key must use Exists", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpEqual, Value: "x"}}
		}, want: []string{"spec.tolerations[0].operator: Invalid value"}},
		{name: "activeDeadlineSeconds zero", mutate: func(p *corev1.Pod) {
			zero := int64(0)
			p.Spec.ActiveDeadlineSeconds = &zero
		}, want: []string{"spec.activeDeadlineSeconds: Invalid value"}},
		{name: "hostNetwork with different host port", mutate: func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
		}, want: []string{"spec.containers[0].ports[0].hostPort: Invalid value"}},
		{name: "ephemeral containers on create", mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
		}, want: []string{"spec.ephemeralContainers: Forbidden"}},
		{name: "node affinity without terms", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}, want: []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value"}},
		{name: "pod name not a subdomain", mutate: func(p *corev1.Pod) { p.Name = "Web" },
			want: []string{"metadata.name: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := makePod("web", ctr("app", "nginx:1.27"))
			tt.mutate(pod)
			resourcetest.SameErrs(t, resourcetest.Create(podStrategy, pod), tt.want)
		})
	}
}

func TestPodValidationWithoutDefaults(t *testing.T) {
	pod := makePod("web", ctr("app", "nginx"))
	pod.Spec.Volumes = []corev1.Volume{{Name: "v"}}
	errs := ValidatePodSpec(&pod.Spec, field.NewPath("spec"))
	want := []string{
		"spec.volumes[0]: Required value",
		"spec.containers[0].terminationMessagePolicy: Required value",
		"spec.containers[0].imagePullPolicy: Required value",
		"spec.restartPolicy: Required value",
		"spec.dnsPolicy: Required value",
	}
	resourcetest.SameErrs(t, errs, want)
}

func TestPodUpdate(t *testing.T) {
	seconds := func(v int64) *int64 { return &v }
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		want   []string
		msg    string
	}{
		{name: "no change", mutate: func(p *corev1.Pod) {}},
		{name: "image change", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }},
		{name: "labels change", mutate: func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} }},
		{name: "set activeDeadlineSeconds", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = seconds(60) }},
		{name: "add toleration", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "b", Operator: corev1.TolerationOpExists})
		}},
		{name: "remove toleration", mutate: func(p *corev1.Pod) { p.Spec.Tolerations = nil },
			want: []string{"spec.tolerations: Forbidden"}},
		{name: "change restartPolicy", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []string{"spec: Forbidden"}, msg: "pod updates may not change fields other than `spec.containers[*].image`"},
		{name: "add a container port", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80}}
		}, want: []string{"spec: Forbidden"}, msg: "spec.containers"},
		{name: "add a container", mutate: func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, ctr("b", "busybox")) },
			want: []string{"spec.containers: Forbidden"}},
		{name: "clear image", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			want: []string{"spec.containers[0].image: Required value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := makePod("web", ctr("app", "nginx:1.27"))
			old.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists}}
			if errs := resourcetest.Create(podStrategy, old); len(errs) > 0 {
				t.Fatalf("create: %v", errs)
			}
			pod := old.DeepCopy()
			tt.mutate(pod)
			errs := resourcetest.Update(podStrategy, pod, old)
			resourcetest.SameErrs(t, errs, tt.want)
			if tt.msg != "" && (len(errs) == 0 || !strings.Contains(errs[0].Detail, tt.msg)) {
				t.Errorf("error detail %q does not contain %q", errs.ToAggregate(), tt.msg)
			}
		})
	}
}

func TestPodFields(t *testing.T) {
	pod := makePod("web", ctr("app", "nginx"))
	pod.Spec.NodeName = "node-1"
	pod.Spec.HostNetwork = true
	podStrategy.PrepareForCreate(pod)
	podStrategy.Default(pod)
	pod.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.5"}}
	got := podFields(pod)
	want := map[string]string{
		"spec.nodeName": "node-1", "spec.restartPolicy": "Always", "spec.schedulerName": "default-scheduler",
		"spec.serviceAccountName": "", "spec.hostNetwork": "true", "status.phase": "Pending",
		"status.podIP": "10.0.0.5", "status.nominatedNodeName": "",
	}
	if len(got) != len(want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %q, want %q", k, got[k], v)
		}
	}
}
