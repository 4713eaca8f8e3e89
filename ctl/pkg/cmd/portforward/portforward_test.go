package portforward_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"navarch.dev/e2e/clitest"
)

// TestPortForward checks port parsing and translation and the pod navctl
// picks. The pod is not scheduled, so the apiserver refuses the upgrade with
// BadRequest, which navctl reports as kubectl does.
func TestPortForward(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()
	running := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox", Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
			{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
		}}}},
	}
	pending := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "waiting", Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
	}
	for _, p := range []*corev1.Pod{running, pending} {
		if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	web, err := c.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	web.Status.Phase = corev1.PodRunning
	if _, err := c.CoreV1().Pods("default").UpdateStatus(ctx, web, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
		}},
	}
	if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	const noKubelet = "error: error upgrading connection: pod web does not have a host assigned\n"
	tests := []struct {
		name    string
		args    string
		wantErr string
	}{
		{name: "pod", args: "port-forward web 0:8080", wantErr: noKubelet},
		{name: "named port", args: "port-forward pod/web :http", wantErr: noKubelet},
		{name: "service port by name", args: "port-forward svc/web 0:http", wantErr: noKubelet},
		{name: "service port by number", args: "port-forward service/web 0:80 --address=127.0.0.1", wantErr: noKubelet},
		{name: "missing service port", args: "port-forward svc/web 0:81", wantErr: "error: Service web does not have a service port 81\n"},
		{name: "missing named port", args: "port-forward web abc", wantErr: "error: Pod 'web' does not have a named port 'abc'\n"},
		{name: "udp port", args: "port-forward web 53", wantErr: "error: UDP protocol is not supported for 53\n"},
		{name: "pod not running", args: "port-forward waiting 8080", wantErr: "error: unable to forward port because pod is not running. Current status=Pending\n"},
		{name: "unknown pod", args: "port-forward nope 80", wantErr: "Error from server (NotFound): pods \"nope\" not found\n"},
		{name: "no ports", args: "port-forward web",
			wantErr: "error: TYPE/NAME and list of ports are required for port-forward\nSee 'navctl port-forward -h' for help and examples\n"},
		{name: "bad local port", args: "port-forward web 99999:80", wantErr: "error: error parsing local port '99999': strconv.ParseUint: parsing \"99999\": value out of range\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", strings.Fields(tt.args)...)
			if r.Code != 1 || r.Stdout != "" || r.Stderr != tt.wantErr {
				t.Errorf("navctl %s: exit %d, want 1\nstdout: %q\nstderr: %q\nwant:   %q", tt.args, r.Code, r.Stdout, r.Stderr, tt.wantErr)
			}
		})
	}
}
