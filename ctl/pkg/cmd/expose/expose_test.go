package expose_test

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/e2e/clitest"
)

var ctx = context.Background()

func container(ports ...corev1.ContainerPort) []corev1.Container {
	return []corev1.Container{{Name: "c", Image: "busybox", Ports: ports}}
}

func setup(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"team": "a"}},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: container(corev1.ContainerPort{ContainerPort: 8080})},
			},
		},
	}
	if _, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "expr", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{
				MatchLabels:      map[string]string{"app": "expr"},
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a"}}},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "expr", "tier": "a"}},
				Spec:       corev1.PodSpec{Containers: container(corev1.ContainerPort{ContainerPort: 80})},
			},
		},
	}
	if _, err := c.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := []*corev1.Pod{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "dns", Namespace: "default", Labels: map[string]string{"app": "dns"}},
			Spec: corev1.PodSpec{Containers: container(
				corev1.ContainerPort{ContainerPort: 53, Protocol: corev1.ProtocolUDP},
				corev1.ContainerPort{ContainerPort: 53, Protocol: corev1.ProtocolTCP},
				corev1.ContainerPort{ContainerPort: 9153},
			)},
		},
		{ObjectMeta: metav1.ObjectMeta{Name: "bare", Namespace: "default"}, Spec: corev1.PodSpec{Containers: container()}},
	}
	for _, p := range pods {
		if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestExpose(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	setup(t, c)

	tcp := func(name string, port, target int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(target)}
	}
	tests := []struct {
		name     string
		args     string
		wantOut  string
		wantErr  string
		wantCode int
		service  string // the Service to check afterwards
		selector map[string]string
		labels   map[string]string
		ports    []corev1.ServicePort
		svcType  corev1.ServiceType
	}{
		{
			name: "deployment", args: "expose deployment web --port=80 --target-port=8080",
			wantOut: "service/web exposed\n", service: "web",
			selector: map[string]string{"app": "web"}, labels: map[string]string{"team": "a"}, ports: []corev1.ServicePort{tcp("", 80, 8080)},
		},
		{
			name: "ports from the pod template", args: "expose deploy/web --name=web-direct --type=NodePort",
			wantOut: "service/web-direct exposed\n", service: "web-direct",
			selector: map[string]string{"app": "web"}, labels: map[string]string{"team": "a"}, ports: []corev1.ServicePort{tcp("", 8080, 8080)}, svcType: corev1.ServiceTypeNodePort,
		},
		{
			name: "pod with several ports and protocols", args: "expose pod dns --labels=role=dns",
			wantOut: "service/dns exposed\n", service: "dns",
			selector: map[string]string{"app": "dns"}, labels: map[string]string{"role": "dns"},
			ports: []corev1.ServicePort{
				{Name: "port-1-udp", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(53)},
				{Name: "port-1-tcp", Port: 53, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(53)},
				tcp("port-2", 9153, 9153),
			},
		},
		{
			name: "protocol and named target port", args: "expose pod dns --name=dns-udp --port=53 --protocol=UDP --target-port=dns",
			wantOut: "service/dns-udp exposed\n", service: "dns-udp", selector: map[string]string{"app": "dns"}, labels: map[string]string{"app": "dns"},
			ports: []corev1.ServicePort{{Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromString("dns")}},
		},
		{
			name: "service", args: "expose svc web --name=web-2 --port=443 --target-port=8443",
			wantOut: "service/web-2 exposed\n", service: "web-2",
			selector: map[string]string{"app": "web"}, labels: map[string]string{"team": "a"}, ports: []corev1.ServicePort{tcp("", 443, 8443)},
		},
		{name: "client dry run", args: "expose deployment web --name=dry --dry-run=client", wantOut: "service/dry exposed (dry run)\n"},
		{name: "server dry run", args: "expose deployment web --name=dry --dry-run=server", wantOut: "service/dry exposed (server dry run)\n"},
		{name: "name output", args: "expose deployment web --name=named -o name", wantOut: "service/named\n", service: "named", selector: map[string]string{"app": "web"},
			labels: map[string]string{"team": "a"}, ports: []corev1.ServicePort{tcp("", 8080, 8080)}},
		{name: "exists", args: "expose deployment web --port=80", wantCode: 1, wantErr: "Error from server (AlreadyExists): services \"web\" already exists\n"},
		{name: "not found", args: "expose deployment nope --port=80", wantCode: 1, wantErr: "Error from server (NotFound): deployments.apps \"nope\" not found\n"},
		{name: "pod without labels", args: "expose pod bare --port=80", wantCode: 1,
			wantErr: "error: couldn't retrieve selectors via --selector flag or introspection: the pod has no labels and cannot be exposed\n"},
		{name: "selector with expressions", args: "expose rs expr", wantCode: 1,
			wantErr: "error: couldn't retrieve selectors via --selector flag or introspection: couldn't convert expressions - \"[{Key:tier Operator:In Values:[a]}]\" to map-based selector format\n"},
		{name: "explicit selector", args: "expose rs expr --selector=app=expr --name=expr", wantOut: "service/expr exposed\n", service: "expr",
			selector: map[string]string{"app": "expr"}, ports: []corev1.ServicePort{tcp("", 80, 80)}},
		{name: "no port", args: "expose pod bare --selector=a=b", wantCode: 1, wantErr: "error: couldn't find port via --port flag or introspection\n"},
		{name: "not exposable", args: "expose node n1 --port=1", wantCode: 1, wantErr: "Error from server (NotFound): nodes \"n1\" not found\n"},
		{name: "no name", args: "expose deploy", wantCode: 1, wantErr: "error: resource(s) were provided, but no name was specified\n"},
		{name: "bad affinity", args: "expose deploy web --name=x --session-affinity=Sticky", wantCode: 1, wantErr: "error: unknown session affinity: Sticky\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", strings.Fields(tt.args)...)
			if r.Code != tt.wantCode || r.Stdout != tt.wantOut || r.Stderr != tt.wantErr {
				t.Errorf("navctl %s: exit %d, want %d\nstdout: %q\nwant:   %q\nstderr: %q\nwant:   %q", tt.args, r.Code, tt.wantCode, r.Stdout, tt.wantOut, r.Stderr, tt.wantErr)
			}
			if tt.service == "" {
				return
			}
			svc, err := c.CoreV1().Services("default").Get(ctx, tt.service, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !equalMaps(svc.Spec.Selector, tt.selector) || !equalMaps(svc.Labels, tt.labels) {
				t.Errorf("selector %v labels %v, want %v and %v", svc.Spec.Selector, svc.Labels, tt.selector, tt.labels)
			}
			if len(svc.Spec.Ports) != len(tt.ports) {
				t.Fatalf("ports %+v, want %+v", svc.Spec.Ports, tt.ports)
			}
			for i, p := range svc.Spec.Ports {
				w := tt.ports[i]
				if p.Name != w.Name || p.Port != w.Port || p.Protocol != w.Protocol || p.TargetPort != w.TargetPort {
					t.Errorf("port %d = %+v, want %+v", i, p, w)
				}
			}
			if tt.svcType != "" && svc.Spec.Type != tt.svcType {
				t.Errorf("type %s, want %s", svc.Spec.Type, tt.svcType)
			}
		})
	}
	if _, err := c.CoreV1().Services("default").Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("dry-run service: %v, want NotFound", err)
	}
}

func TestExposeDryRunYAML(t *testing.T) {
	env := clitest.Start(t)
	setup(t, env.Server.Client)
	out := env.OK(t, "", "expose", "deployment", "web", "--port=80", "--target-port=8080", "--dry-run=client", "-o", "yaml")
	want := `apiVersion: v1
kind: Service
metadata:
  labels:
    team: a
  name: web
spec:
  ports:
  - port: 80
    protocol: TCP
    targetPort: 8080
  selector:
    app: web
status:
  loadBalancer: {}
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
