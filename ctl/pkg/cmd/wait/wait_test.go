package wait_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/e2e/clitest"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: app
        image: busybox:1.36
`

// setAvailable records the Available condition in the deployment's status,
// as the deployment controller would.
func setAvailable(t *testing.T, c kubernetes.Interface, status corev1.ConditionStatus) error {
	ctx := context.Background()
	d, err := c.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		return err
	}
	d.Status.ObservedGeneration = d.Generation
	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: status, Reason: "MinimumReplicasAvailable"}}
	_, err = c.AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{})
	return err
}

func TestWait(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	env.OK(t, deployment, "apply", "-f", "-")
	if err := setAvailable(t, c, corev1.ConditionFalse); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		out, err string
		code     int
	}{
		{"condition not yet met", []string{"wait", "deploy/web", "--for=condition=Available", "--timeout=1s"}, "", "error: timed out waiting for the condition on deployments/web\n", 1},
		{"condition with a value", []string{"wait", "deploy/web", "--for=condition=available=false", "--timeout=1s"}, "deployment.apps/web condition met\n", "", 0},
		{"check once", []string{"wait", "deploy/web", "--for=condition=Available", "--timeout=0"}, "", "error: condition not met for deployments/web\n", 1},
		{"jsonpath value", []string{"wait", "deploy/web", "--for=jsonpath={.spec.replicas}=3", "--timeout=1s"}, "deployment.apps/web condition met\n", "", 0},
		{"jsonpath without braces", []string{"wait", "deploy/web", "--for=jsonpath=.spec.template.spec.containers[0].image=busybox:1.36", "--timeout=1s"}, "deployment.apps/web condition met\n", "", 0},
		{"jsonpath other value", []string{"wait", "deploy/web", "--for=jsonpath={.spec.replicas}=5", "--timeout=1s"}, "", "error: timed out waiting for the condition on deployments/web\n", 1},
		{"jsonpath present", []string{"wait", "deploy/web", "--for=jsonpath={.spec.replicas}", "--timeout=1s", "-o", "name"}, "deployment.apps/web\n", "", 0},
		{"exists", []string{"wait", "deploy/web", "--for=create", "--timeout=1s"}, "deployment.apps/web condition met\n", "", 0},
		{"never created", []string{"wait", "deploy/nope", "--for=create", "--timeout=1s"}, "", "error: timed out waiting for the condition\n", 1},
		{"already gone", []string{"wait", "deploy/nope", "--for=delete", "--timeout=1s"}, "", "", 0},
		{"not deleted", []string{"wait", "deploy/web", "--for=delete", "--timeout=1s"}, "", "error: timed out waiting for the condition on deployments/web\n", 1},
		{"missing object", []string{"wait", "deploy/nope", "--for=condition=Available", "--timeout=1s"}, "", "Error from server (NotFound): deployments.apps \"nope\" not found\n", 1},
		{"selector matching nothing", []string{"wait", "deploy", "-l", "app=none", "--for=condition=Available", "--timeout=1s"}, "", "error: no matching resources found\n", 1},
		{"selector matching nothing, delete", []string{"wait", "deploy", "-l", "app=none", "--for=delete", "--timeout=1s"}, "", "", 0},
		{"no --for", []string{"wait", "deploy/web"}, "", "error: unrecognized condition: \"\"\n", 1},
		{"unknown --for", []string{"wait", "deploy/web", "--for=foo"}, "", "error: unrecognized condition: \"foo\"\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", tt.args...)
			if r.Code != tt.code || r.Stdout != tt.out || r.Stderr != tt.err {
				t.Errorf("navctl %s:\ngot  exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
					strings.Join(tt.args, " "), r.Code, r.Stdout, r.Stderr, tt.code, tt.out, tt.err)
			}
		})
	}
}

// TestWaitUntil changes the objects while wait runs: wait returns once the
// change is seen, whenever it happens before the timeout.
func TestWaitUntil(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()
	env.OK(t, deployment, "apply", "-f", "-")
	later := func(f func() error) chan error {
		done := make(chan error, 1)
		go func() {
			time.Sleep(time.Second)
			done <- f()
		}()
		return done
	}
	tests := []struct {
		name   string
		change func() error
		args   []string
		out    string
	}{
		{
			name:   "condition",
			change: func() error { return setAvailable(t, c, corev1.ConditionTrue) },
			args:   []string{"wait", "--for=condition=Available", "deployment/web", "--timeout=2m"},
			out:    "deployment.apps/web condition met\n",
		},
		{
			name: "create",
			change: func() error {
				_, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
				return err
			},
			args: []string{"wait", "--for=create", "configmap/late", "--timeout=2m"},
			out:  "configmap/late condition met\n",
		},
		{
			name:   "delete",
			change: func() error { return c.CoreV1().ConfigMaps("default").Delete(ctx, "late", metav1.DeleteOptions{}) },
			args:   []string{"wait", "--for=delete", "configmap/late", "--timeout=2m"},
			out:    "configmap/late condition met\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := later(tt.change)
			out := env.OK(t, "", tt.args...)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if out != tt.out {
				t.Errorf("printed %q, want %q", out, tt.out)
			}
		})
	}
}
