package attach_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

// TestAttach checks argument handling and the pod and container navctl
// picks. The pod is not scheduled, so the apiserver refuses the attach upgrade with
// BadRequest, which navctl reports as kubectl does.
func TestAttach(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}, {Name: "shell", Image: "busybox", Stdin: true, TTY: true}}},
	}
	if _, err := c.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const banner = "All commands and output from this session will be recorded in container logs, including credentials and sensitive information passed through the command prompt.\nIf you don't see a command prompt, try pressing enter.\n"
	const noKubelet = "Error from server (BadRequest): pod web does not have a host assigned\n"
	tests := []struct {
		name    string
		args    string
		wantErr string
	}{
		{name: "pod", args: "attach web", wantErr: "Defaulted container \"app\" out of: app, shell\n" + banner + noKubelet},
		{name: "type and name", args: "attach pods web -c app", wantErr: banner + noKubelet},
		{name: "quiet", args: "attach web -q", wantErr: noKubelet},
		{name: "tty the container lacks", args: "attach web -c app -i -t", wantErr: "error: Unable to use a TTY - container app did not allocate one\n" + banner + noKubelet},
		{name: "tty without a terminal", args: "attach web -c shell -i",
			wantErr: "Unable to use a TTY - input is not a terminal or the right kind of file\n" + banner + noKubelet},
		{name: "unknown container", args: "attach web -c nope", wantErr: "error: cannot attach to the container: container nope not found in pod web\n"},
		{name: "unknown pod", args: "attach nope", wantErr: "Error from server (NotFound): pods \"nope\" not found\n"},
		{name: "no pod", args: "attach", wantErr: "error: at least 1 argument is required for attach\n"},
		{name: "too many", args: "attach a b c", wantErr: "error: expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) saw 3: [a b c]\n"},
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
