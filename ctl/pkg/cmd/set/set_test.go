package set_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

const manifests = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      initContainers:
      - name: init
        image: busybox:1.36
      containers:
      - name: app
        image: busybox:1.36
      - name: sidecar
        image: busybox:1.36
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: other
spec:
  selector:
    matchLabels:
      app: other
  template:
    metadata:
      labels:
        app: other
    spec:
      containers:
      - name: main
        image: busybox:1.36
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
`

func TestSetImage(t *testing.T) {
	env := clitest.Start(t)
	env.OK(t, manifests, "apply", "-f", "-")
	tests := []struct {
		name     string
		args     []string
		out, err string
		code     int
		images   string // of deployment web: init, app, sidecar
	}{
		{"one container", []string{"set", "image", "deployment/web", "app=busybox:1.37"}, "deployment.apps/web image updated\n", "", 0, "busybox:1.36 busybox:1.37 busybox:1.36"},
		{"already set says nothing", []string{"set", "image", "deployment/web", "app=busybox:1.37"}, "", "", 0, "busybox:1.36 busybox:1.37 busybox:1.36"},
		{"init container", []string{"set", "image", "deploy", "web", "init=busybox:1.38"}, "deployment.apps/web image updated\n", "", 0, "busybox:1.38 busybox:1.37 busybox:1.36"},
		{"every container", []string{"set", "image", "deploy/web", "*=busybox:1.39"}, "deployment.apps/web image updated\n", "", 0, "busybox:1.39 busybox:1.39 busybox:1.39"},
		{"server dry run", []string{"set", "image", "deploy/web", "app=x", "--dry-run=server"}, "deployment.apps/web image updated (server dry run)\n", "", 0, "busybox:1.39 busybox:1.39 busybox:1.39"},
		{"missing container, the others still change", []string{"set", "image", "deploy/web", "app=busybox:1.40", "nope=x"}, "deployment.apps/web image updated\n", "error: unable to find container named \"nope\"\n", 1, "busybox:1.39 busybox:1.40 busybox:1.39"},
		{"all, one without the container", []string{"set", "image", "deploy", "--all", "sidecar=busybox:1.41", "-o", "name"}, "deployment.apps/web\n", "error: unable to find container named \"sidecar\"\n", 1, "busybox:1.39 busybox:1.40 busybox:1.41"},
		{"not a pod template", []string{"set", "image", "svc/web", "a=b"}, "", "error: services/web the object is not a pod or does not have a pod template: *v1.Service\n", 1, "busybox:1.39 busybox:1.40 busybox:1.41"},
		{"no update", []string{"set", "image", "deploy/web"}, "", "error: at least one image update is required\n", 1, "busybox:1.39 busybox:1.40 busybox:1.41"},
		{"missing deployment", []string{"set", "image", "deploy/nope", "a=b"}, "", "Error from server (NotFound): deployments.apps \"nope\" not found\n", 1, "busybox:1.39 busybox:1.40 busybox:1.41"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", tt.args...)
			if r.Code != tt.code || r.Stdout != tt.out || r.Stderr != tt.err {
				t.Errorf("navctl %s:\ngot  exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
					strings.Join(tt.args, " "), r.Code, r.Stdout, r.Stderr, tt.code, tt.out, tt.err)
			}
			d, err := env.Server.Client.AppsV1().Deployments("default").Get(context.Background(), "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			spec := d.Spec.Template.Spec
			if got := strings.Join([]string{spec.InitContainers[0].Image, spec.Containers[0].Image, spec.Containers[1].Image}, " "); got != tt.images {
				t.Errorf("images %q, want %q", got, tt.images)
			}
		})
	}
}
