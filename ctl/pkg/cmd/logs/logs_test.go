package logs_test

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

// TestLogs checks how navctl picks the pod and container and what it asks
// the server. The pods are not scheduled, so the apiserver answers pods/log with
// BadRequest, which navctl reports as kubectl does.
func TestLogs(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()
	for _, p := range []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "one", Namespace: "default", Labels: map[string]string{"app": "one"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "two", Namespace: "default", Labels: map[string]string{"app": "two"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}, {Name: "sidecar", Image: "busybox"}}}},
	} {
		if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "empty", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "empty"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "empty"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
	if _, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	const noKubelet = "Error from server (BadRequest): pod %s does not have a host assigned\n"
	tests := []struct {
		name    string
		args    string
		wantErr string
	}{
		{name: "pod", args: "logs one", wantErr: strings.Replace(noKubelet, "%s", "one", 1)},
		{name: "follow with options", args: "logs -f one --tail=5 --timestamps --since=1h -p", wantErr: strings.Replace(noKubelet, "%s", "one", 1)},
		{name: "type/name", args: "logs pod/one -c main", wantErr: strings.Replace(noKubelet, "%s", "one", 1)},
		{name: "default container", args: "logs two",
			wantErr: "Defaulted container \"app\" out of: app, sidecar\n" + strings.Replace(noKubelet, "%s", "two", 1)},
		{name: "inline container", args: "logs two sidecar", wantErr: strings.Replace(noKubelet, "%s", "two", 1)},
		{name: "all containers", args: "logs two --all-containers", wantErr: strings.Replace(noKubelet, "%s", "two", 1)},
		{name: "selector", args: "logs -l app=one", wantErr: strings.Replace(noKubelet, "%s", "one", 1)},
		{name: "selector matching nothing", args: "logs -l app=none", wantErr: "No resources found in default namespace.\n"},
		{name: "unknown container", args: "logs two -c nope", wantErr: "error: container nope is not valid for pod two\n"},
		{name: "unknown pod", args: "logs nope", wantErr: "error: error from server (NotFound): pods \"nope\" not found in namespace \"default\"\n"},
		{name: "no pod yet", args: "logs deploy/empty --pod-running-timeout=1s", wantErr: "error: timed out waiting for the condition\n"},
		{name: "service without selector", args: "logs svc/kubernetes",
			wantErr: "error: cannot get the logs from *v1.Service: invalid service 'kubernetes': Service is defined without a selector\n"},
		{name: "no argument", args: "logs",
			wantErr: "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command\nSee 'navctl logs -h' for help and examples\n"},
		{name: "since twice", args: "logs one --since=1h --since-time=2020-01-01T00:00:00Z", wantErr: "error: at most one of `sinceTime` or `sinceSeconds` may be specified\n"},
		{name: "container twice", args: "logs two app -c app", wantErr: "error: only one of -c or an inline [CONTAINER] arg is allowed\n"},
		{name: "all containers and one", args: "logs two --all-containers -c app", wantErr: "error: --all-containers=true should not be specified with container name app\n"},
		{name: "bad tail", args: "logs one --tail=-3", wantErr: "error: --tail must be greater than or equal to -1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", strings.Fields(tt.args)...)
			wantCode := 1
			if tt.name == "selector matching nothing" {
				wantCode = 0
			}
			if r.Code != wantCode || r.Stdout != "" || r.Stderr != tt.wantErr {
				t.Errorf("navctl %s: exit %d, want %d\nstdout: %q\nstderr: %q\nwant:   %q", tt.args, r.Code, wantCode, r.Stdout, r.Stderr, tt.wantErr)
			}
		})
	}
}
