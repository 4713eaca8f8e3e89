package edit_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
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
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 80
`

func TestEdit(t *testing.T) {
	env := clitest.Start(t)
	env.OK(t, deployment, "apply", "-f", "-")
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	seen := filepath.Join(dir, "seen")
	// copy keeps what the editor was shown.
	copyEditor := script("copy", `cp "$1" `+seen)
	// fixer makes replicas invalid, and fixes them when the file comes back
	// with the server's complaint.
	fixer := script("fixer", `if grep -q 'was not valid' "$1"; then sed -i 's/replicas: -1/replicas: 5/' "$1"; else sed -i 's/replicas: 4/replicas: -1/' "$1"; fi`)
	emptier := script("emptier", `: > "$1"`)
	// jsonEditor edits the JSON form ("replicas": 6).
	jsonEditor := script("json", `grep -q '^    "kind": "Deployment",$' "$1" && sed -i 's/"replicas": 6/"replicas": 7/' "$1"`)

	tests := []struct {
		name     string
		env      []string
		args     []string
		out      string
		err      string // a regular expression
		code     int
		replicas int32
	}{
		{"no change", []string{"KUBE_EDITOR=" + copyEditor}, []string{"edit", "deploy/web"}, "", "^Edit cancelled, no changes made.\n$", 0, 2},
		{"change", []string{`KUBE_EDITOR=sed -i s/replicas:.2/replicas:\ 3/`}, []string{"edit", "deployment", "web"}, "deployment.apps/web edited\n", "^$", 0, 3},
		{"EDITOR when KUBE_EDITOR is unset, with the patch", []string{"KUBE_EDITOR=", `EDITOR=sed -i s/replicas:.3/replicas:\ 4/`}, []string{"edit", "deploy/web", "--output-patch"}, "Patch: {\"spec\":{\"replicas\":4}}\ndeployment.apps/web edited\n", "^$", 0, 4},
		{
			name: "invalid, left unfixed",
			env:  []string{`KUBE_EDITOR=sed -i s/replicas:.4/replicas:\ -6/`},
			args: []string{"edit", "deploy/web"},
			err:  `^error: deployments.apps "web" is invalid\nA copy of your changes has been stored to "[^"]*navctl-edit-[0-9]+\.yaml"\nerror: Edit cancelled, no valid changes were saved.\n$`,
			code: 1, replicas: 4,
		},
		{"invalid, fixed on the second round", []string{"KUBE_EDITOR=" + fixer}, []string{"edit", "deploy/web"}, "deployment.apps/web edited\n", "^$", 0, 5},
		{"several objects, one changed", []string{`KUBE_EDITOR=sed -i s/replicas:.5/replicas:\ 6/`}, []string{"edit", "deploy/web", "svc/web"}, "deployment.apps/web edited\nservice/web skipped\n", "^$", 0, 6},
		{"JSON", []string{"KUBE_EDITOR=" + jsonEditor}, []string{"edit", "deploy/web", "-o", "json"}, "deployment.apps/web edited\n", "^$", 0, 7},
		{"empty file", []string{"KUBE_EDITOR=" + emptier}, []string{"edit", "deploy/web"}, "", "^Edit cancelled, saved file was empty.\n$", 0, 7},
		{"missing object", []string{"KUBE_EDITOR=true"}, []string{"edit", "deploy/nope"}, "", "^Error from server \\(NotFound\\): deployments.apps \"nope\" not found\n$", 1, 7},
		{"output other than yaml or json", []string{"KUBE_EDITOR=true"}, []string{"edit", "deploy/web", "-o", "name"}, "", "^error: unable to match a printer suitable for the output format \"name\", allowed formats are: json,yaml\n$", 1, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.RunEnv(t, tt.env, "", tt.args...)
			if r.Code != tt.code || r.Stdout != tt.out || !regexp.MustCompile(tt.err).MatchString(r.Stderr) {
				t.Errorf("navctl %s:\ngot  exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr like %q",
					strings.Join(tt.args, " "), r.Code, r.Stdout, r.Stderr, tt.code, tt.out, tt.err)
			}
			d, err := env.Server.Client.AppsV1().Deployments("default").Get(context.Background(), "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if *d.Spec.Replicas != tt.replicas {
				t.Errorf("replicas %d, want %d", *d.Spec.Replicas, tt.replicas)
			}
			if m := regexp.MustCompile(`stored to "([^"]+)"`).FindStringSubmatch(r.Stderr); m != nil {
				kept, err := os.ReadFile(m[1])
				if err != nil {
					t.Fatal(err)
				}
				os.Remove(m[1])
				want := "# deployments.apps \"web\" was not valid:\n# * spec.replicas: Invalid value: -6: must be greater than or equal to 0\n#\n"
				if !strings.Contains(string(kept), want) || !strings.Contains(string(kept), "replicas: -6") {
					t.Errorf("kept copy:\n%s", kept)
				}
			}
		})
	}

	// The editor was shown kubectl's header and the object as YAML.
	shown, err := os.ReadFile(seen)
	if err != nil {
		t.Fatal(err)
	}
	header := "# Please edit the object below. Lines beginning with a '#' will be ignored,\n# and an empty file will abort the edit. If an error occurs while saving this file will be\n# reopened with the relevant failures.\n#\napiVersion: apps/v1\nkind: Deployment\n"
	if !strings.HasPrefix(string(shown), header) || !strings.Contains(string(shown), "\n  name: web\n") {
		t.Errorf("the editor was shown:\n%s", shown)
	}
}
