package patch_test

import (
	"context"
	"os"
	"path/filepath"
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
      - name: sidecar
        image: busybox:1.36
`

func TestPatch(t *testing.T) {
	env := clitest.Start(t)
	env.OK(t, deployment, "apply", "-f", "-")
	patchFile := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(patchFile, []byte("spec:\n  replicas: 6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(t.TempDir(), "web.yaml")
	if err := os.WriteFile(manifest, []byte(deployment), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		args         []string
		out, err     string
		code         int
		wantReplicas int32
		wantImages   string
	}{
		{"strategic", []string{"patch", "deployment", "web", "-p", `{"spec":{"replicas":3}}`}, "deployment.apps/web patched\n", "", 0, 3, "busybox:1.36 busybox:1.36"},
		{"no change", []string{"patch", "deploy/web", "-p", `{"spec":{"replicas":3}}`}, "deployment.apps/web patched (no change)\n", "", 0, 3, ""},
		{"strategic merges containers by name", []string{"patch", "deploy/web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.37"}]}}}}`}, "deployment.apps/web patched\n", "", 0, 3, "busybox:1.36 busybox:1.37"},
		{"merge", []string{"patch", "deploy/web", "--type", "merge", "-p", `{"spec":{"replicas":4}}`}, "deployment.apps/web patched\n", "", 0, 4, ""},
		{"json", []string{"patch", "deploy/web", "--type=json", "-p", `[{"op":"replace","path":"/spec/replicas","value":5}]`}, "deployment.apps/web patched\n", "", 0, 5, ""},
		{"yaml patch from a file", []string{"patch", "deploy/web", "--patch-file", patchFile}, "deployment.apps/web patched\n", "", 0, 6, ""},
		{"server dry run", []string{"patch", "deploy/web", "-p", `{"spec":{"replicas":9}}`, "--dry-run=server"}, "deployment.apps/web patched\n", "", 0, 6, ""},
		{"client dry run", []string{"patch", "deploy/web", "-p", `{"spec":{"replicas":9}}`, "--dry-run=client", "-o", "name"}, "deployment.apps/web\n", "", 0, 6, ""},
		{"by manifest", []string{"patch", "-f", manifest, "-p", `{"metadata":{"labels":{"patched":"yes"}}}`}, "deployment.apps/web patched\n", "", 0, 6, ""},
		{"the subresource", []string{"patch", "deploy/web", "--subresource=scale", "--type=merge", "-p", `{"spec":{"replicas":7}}`}, "scale.autoscaling/web patched\n", "", 0, 7, ""},
		{"invalid", []string{"patch", "deploy/web", "-p", `{"spec":{"replicas":-1}}`}, "", "The Deployment \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0\n", 1, 7, ""},
		{"missing object", []string{"patch", "deploy", "nope", "-p", `{"a":1}`}, "", "Error from server (NotFound): deployments.apps \"nope\" not found\n", 1, 7, ""},
		{"bad type", []string{"patch", "deploy/web", "--type", "foo", "-p", "{}"}, "", "error: --type must be one of [json merge strategic], not \"foo\"\n", 1, 7, ""},
		{"no patch", []string{"patch", "deploy/web"}, "", "error: must specify --patch or --patch-file containing the contents of the patch\n", 1, 7, ""},
		{"both patches", []string{"patch", "deploy/web", "-p", "{}", "--patch-file", patchFile}, "", "error: cannot specify --patch and --patch-file together\n", 1, 7, ""},
		{"no object", []string{"patch", "-p", "{}"}, "", "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'\n", 1, 7, ""},
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
			if *d.Spec.Replicas != tt.wantReplicas {
				t.Errorf("replicas %d, want %d", *d.Spec.Replicas, tt.wantReplicas)
			}
			if tt.wantImages != "" {
				var images []string
				for _, c := range d.Spec.Template.Spec.Containers {
					images = append(images, c.Image)
				}
				if got := strings.Join(images, " "); got != tt.wantImages {
					t.Errorf("images %q, want %q", got, tt.wantImages)
				}
			}
		})
	}
}
