package exec_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

// TestExec checks argument handling and the pod and container navctl picks.
// The pod is not scheduled, so the apiserver refuses the exec upgrade with
// BadRequest, which navctl reports as kubectl does.
func TestExec(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()
	pods := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}, {Name: "sidecar", Image: "busybox"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "done", Namespace: "default"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}},
	}
	for _, p := range pods {
		if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	done, err := c.CoreV1().Pods("default").Get(ctx, "done", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done.Status.Phase = corev1.PodSucceeded
	if _, err := c.CoreV1().Pods("default").UpdateStatus(ctx, done, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	const noKubelet = "Error from server (BadRequest): pod web does not have a host assigned\n"
	const defaulted = "Defaulted container \"app\" out of: app, sidecar\n"
	tests := []struct {
		name    string
		args    string
		wantErr string
	}{
		{name: "pod", args: "exec web -- ls /", wantErr: defaulted + noKubelet},
		{name: "container", args: "exec web -c sidecar -- ls", wantErr: noKubelet},
		{name: "quiet", args: "exec -q web -- ls", wantErr: noKubelet},
		{name: "stdin without a terminal", args: "exec -i -t web -c app -- sh",
			wantErr: "Unable to use a TTY - input is not a terminal or the right kind of file\n" + noKubelet},
		{name: "through a service", args: "exec svc/web -- ls", wantErr: defaulted + noKubelet},
		{name: "completed pod", args: "exec done -- ls", wantErr: "error: cannot exec into a container in a completed pod; current phase is Succeeded\n"},
		{name: "unknown pod", args: "exec nope -- ls", wantErr: "Error from server (NotFound): pods \"nope\" not found\n"},
		{name: "no command", args: "exec web", wantErr: "error: you must specify at least one command for the container\n"},
		{name: "no pod", args: "exec -- ls", wantErr: "error: pod, type/name or --filename must be specified\n"},
		{name: "old syntax", args: "exec web ls",
			wantErr: "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\nSee 'navctl exec -h' for help and examples\n"},
		{name: "service without selector", args: "exec svc/kubernetes -- ls",
			wantErr: "error: cannot attach to *v1.Service: invalid service 'kubernetes': Service is defined without a selector\n"},
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
