package scale_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
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

func TestScale(t *testing.T) {
	env := clitest.Start(t)
	env.OK(t, deployment, "apply", "-f", "-")
	env.OK(t, strings.ReplaceAll(deployment, "web", "api"), "apply", "-f", "-")
	tests := []struct {
		name     string
		args     []string
		out, err string
		code     int
		web, api int32
	}{
		{"scale", []string{"scale", "deployment", "web", "--replicas=3"}, "deployment.apps/web scaled\n", "", 0, 3, 2},
		{"precondition holds", []string{"scale", "deploy/web", "--replicas=4", "--current-replicas=3"}, "deployment.apps/web scaled\n", "", 0, 4, 2},
		{"precondition fails", []string{"scale", "deploy/web", "--replicas=5", "--current-replicas=2"}, "", "error: Expected replicas to be 2, was 4\n", 1, 4, 2},
		{"resource version precondition fails", []string{"scale", "deploy/web", "--replicas=5", "--resource-version=1"}, "", "", 1, 4, 2},
		{"server dry run", []string{"scale", "deploy/web", "--replicas=9", "--dry-run=server"}, "deployment.apps/web scaled (server dry run)\n", "", 0, 4, 2},
		{"client dry run", []string{"scale", "deploy/web", "--replicas=9", "--dry-run=client"}, "deployment.apps/web scaled (dry run)\n", "", 0, 4, 2},
		{"all", []string{"scale", "deploy", "--all", "--replicas=1", "-o", "name"}, "deployment.apps/api\ndeployment.apps/web\n", "", 0, 1, 1},
		{"some missing", []string{"scale", "deploy", "web", "nope", "--replicas=2"}, "deployment.apps/web scaled\n", "Error from server (NotFound): deployments.apps \"nope\" not found\n", 1, 2, 1},
		{"only missing", []string{"scale", "deploy", "nope", "--replicas=2"}, "", "error: no objects passed to scale deployments.apps \"nope\" not found\n", 1, 2, 1},
		{"no replicas", []string{"scale", "deploy/web"}, "", "error: required flag(s) \"replicas\" not set\n", 1, 2, 1},
		{"negative replicas", []string{"scale", "deploy/web", "--replicas=-1"}, "", "error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0\n", 1, 2, 1},
		{"no scale subresource", []string{"scale", "cm/x", "--replicas=1"}, "", "", 1, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", tt.args...)
			// An empty want for stderr on a failure means: any message.
			if r.Code != tt.code || r.Stdout != tt.out || (tt.err != "" || tt.code == 0) && r.Stderr != tt.err {
				t.Errorf("navctl %s:\ngot  exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
					strings.Join(tt.args, " "), r.Code, r.Stdout, r.Stderr, tt.code, tt.out, tt.err)
			}
			for name, want := range map[string]int32{"web": tt.web, "api": tt.api} {
				d, err := env.Server.Client.AppsV1().Deployments("default").Get(context.Background(), name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if *d.Spec.Replicas != want {
					t.Errorf("%s has %d replicas, want %d", name, *d.Spec.Replicas, want)
				}
			}
		})
	}
}
