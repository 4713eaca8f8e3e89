package run_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

func TestRun(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()

	tests := []struct {
		name     string
		args     []string
		wantOut  string
		wantErr  string
		wantCode int
		check    func(t *testing.T, p *corev1.Pod) // the pod named like args[1], if created
	}{
		{
			name:    "plain",
			args:    []string{"run", "web", "--image=nginx:1.25"},
			wantOut: "pod/web created\n",
			check: func(t *testing.T, p *corev1.Pod) {
				ct := p.Spec.Containers[0]
				if ct.Name != "web" || ct.Image != "nginx:1.25" || p.Labels["run"] != "web" || p.Spec.RestartPolicy != corev1.RestartPolicyAlways {
					t.Errorf("pod %+v", p)
				}
			},
		},
		{
			name:    "port, labels, env, restart and args",
			args:    []string{"run", "job", "--image=busybox", "--port=8080", "--labels=app=job,tier=batch", "--env=A=1", "--env=B=x=y", "--restart=Never", "--", "echo", "hi"},
			wantOut: "pod/job created\n",
			check: func(t *testing.T, p *corev1.Pod) {
				ct := p.Spec.Containers[0]
				if !reflect.DeepEqual(p.Labels, map[string]string{"app": "job", "tier": "batch"}) {
					t.Errorf("labels %v", p.Labels)
				}
				if len(ct.Ports) != 1 || ct.Ports[0].ContainerPort != 8080 {
					t.Errorf("ports %v", ct.Ports)
				}
				if len(ct.Env) != 2 || ct.Env[0] != (corev1.EnvVar{Name: "A", Value: "1"}) || ct.Env[1] != (corev1.EnvVar{Name: "B", Value: "x=y"}) {
					t.Errorf("env %v", ct.Env)
				}
				if !reflect.DeepEqual(ct.Args, []string{"echo", "hi"}) || ct.Command != nil {
					t.Errorf("command %v args %v", ct.Command, ct.Args)
				}
				if p.Spec.RestartPolicy != corev1.RestartPolicyNever {
					t.Errorf("restart policy %s", p.Spec.RestartPolicy)
				}
			},
		},
		{
			name:    "command",
			args:    []string{"run", "sh", "--image=busybox", "--command", "--", "sh", "-c", "sleep 1"},
			wantOut: "pod/sh created\n",
			check: func(t *testing.T, p *corev1.Pod) {
				ct := p.Spec.Containers[0]
				if !reflect.DeepEqual(ct.Command, []string{"sh", "-c", "sleep 1"}) || ct.Args != nil {
					t.Errorf("command %v args %v", ct.Command, ct.Args)
				}
			},
		},
		{
			name:    "expose",
			args:    []string{"run", "api", "--image=api", "--port=9000", "--expose"},
			wantOut: "service/api created\npod/api created\n",
		},
		{
			name:    "overrides",
			args:    []string{"run", "pinned", "--image=busybox", `--overrides={"spec":{"nodeName":"node-1"}}`},
			wantOut: "pod/pinned created\n",
			check: func(t *testing.T, p *corev1.Pod) {
				if p.Spec.NodeName != "node-1" || p.Spec.Containers[0].Image != "busybox" {
					t.Errorf("pod spec %+v", p.Spec)
				}
			},
		},
		{name: "client dry run", args: []string{"run", "dry", "--image=busybox", "--dry-run=client"}, wantOut: "pod/dry created (dry run)\n"},
		{name: "server dry run", args: []string{"run", "dry", "--image=busybox", "--dry-run=server"}, wantOut: "pod/dry created (server dry run)\n"},
		{name: "name output", args: []string{"run", "named", "--image=busybox", "-o", "name"}, wantOut: "pod/named\n"},
		{name: "exists", args: []string{"run", "web", "--image=nginx"}, wantCode: 1, wantErr: "Error from server (AlreadyExists): pods \"web\" already exists\n"},
		{name: "no name", args: []string{"run", "--image=nginx"}, wantCode: 1, wantErr: "error: NAME is required for run\nSee 'navctl run -h' for help and examples\n"},
		{name: "no image", args: []string{"run", "x"}, wantCode: 1, wantErr: "error: required flag(s) \"image\" not set\n"},
		{name: "bad image", args: []string{"run", "x", "--image=BAD IMAGE"}, wantCode: 1, wantErr: "error: Invalid image name \"BAD IMAGE\": invalid reference format\n"},
		{name: "bad restart", args: []string{"run", "x", "--image=b", "--restart=Sometimes"}, wantCode: 1,
			wantErr: "error: invalid restart policy: Sometimes\nSee 'navctl run -h' for help and examples\n"},
		{name: "tty without stdin", args: []string{"run", "x", "--image=b", "-t"}, wantCode: 1,
			wantErr: "error: -i/--stdin is required for containers with -t/--tty=true\nSee 'navctl run -h' for help and examples\n"},
		{name: "expose without port", args: []string{"run", "x", "--image=b", "--expose"}, wantCode: 1,
			wantErr: "error: --port must be set when exposing a service\nSee 'navctl run -h' for help and examples\n"},
		{name: "bad env", args: []string{"run", "x", "--image=b", "--env=bad"}, wantCode: 1, wantErr: "error: invalid env: bad\n"},
		{name: "rm without attach", args: []string{"run", "x", "--image=b", "--rm"}, wantCode: 1,
			wantErr: "error: --rm should only be used for attached containers\nSee 'navctl run -h' for help and examples\n"},
		{name: "bad pull policy", args: []string{"run", "x", "--image=b", "--image-pull-policy=Sometimes"}, wantCode: 1,
			wantErr: "error: invalid image pull policy: Sometimes\nSee 'navctl run -h' for help and examples\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", tt.args...)
			if r.Code != tt.wantCode || r.Stdout != tt.wantOut || r.Stderr != tt.wantErr {
				t.Errorf("navctl %s: exit %d, want %d\nstdout: %q\nwant:   %q\nstderr: %q\nwant:   %q",
					strings.Join(tt.args, " "), r.Code, tt.wantCode, r.Stdout, tt.wantOut, r.Stderr, tt.wantErr)
			}
			if tt.check != nil {
				p, err := c.CoreV1().Pods("default").Get(ctx, tt.args[1], metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, p)
			}
		})
	}

	svc, err := c.CoreV1().Services("default").Get(ctx, "api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Selector["run"] != "api" || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 9000 || svc.Spec.Ports[0].TargetPort.IntValue() != 9000 {
		t.Errorf("service api: %+v", svc.Spec)
	}
	if _, err := c.CoreV1().Pods("default").Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("dry-run pod: %v, want NotFound", err)
	}
}

func TestRunDryRunYAML(t *testing.T) {
	env := clitest.Start(t)
	out := env.OK(t, "", "run", "web", "--image=nginx", "--port=80", "--dry-run=client", "-o", "yaml")
	want := `apiVersion: v1
kind: Pod
metadata:
  labels:
    run: web
  name: web
spec:
  containers:
  - image: nginx
    name: web
    ports:
    - containerPort: 80
    resources: {}
  dnsPolicy: ClusterFirst
  restartPolicy: Always
status: {}
`
	if out != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}
