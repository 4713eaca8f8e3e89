package replace_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

func TestReplace(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+name+"\n"+data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env.OK(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  labels:\n    old: label\ndata:\n  a: \"1\"\n", "apply", "-f", "-")
	cfg := write("cfg", "data:\n  a: \"2\"\n")
	missing := write("missing", "")

	tests := []struct {
		name     string
		args     []string
		out, err string
		code     int
		data     string // of cfg afterwards
	}{
		{"client dry run", []string{"replace", "-f", cfg, "--dry-run=client"}, "configmap/cfg replaced (dry run)\n", "", 0, "1"},
		{"server dry run", []string{"replace", "-f", cfg, "--dry-run=server"}, "configmap/cfg replaced (server dry run)\n", "", 0, "1"},
		{"replace", []string{"replace", "-f", cfg}, "configmap/cfg replaced\n", "", 0, "2"},
		{"force", []string{"replace", "-f", cfg, "--force"}, "configmap \"cfg\" deleted from default namespace\nconfigmap/cfg replaced\n", "", 0, "2"},
		{"save config", []string{"replace", "-f", cfg, "--save-config", "-o", "name"}, "configmap/cfg\n", "", 0, "2"},
		{"missing object", []string{"replace", "-f", missing}, "", "Error from server (NotFound): error when replacing \"" + missing + "\": configmaps \"missing\" not found\n", 1, "2"},
		{"no -f", []string{"replace"}, "", "error: must specify one of -f and -k\n", 1, "2"},
	}
	var uid string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", tt.args...)
			if r.Code != tt.code || r.Stdout != tt.out || r.Stderr != tt.err {
				t.Errorf("navctl %s:\ngot  exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
					strings.Join(tt.args, " "), r.Code, r.Stdout, r.Stderr, tt.code, tt.out, tt.err)
			}
			cm, err := c.CoreV1().ConfigMaps("default").Get(ctx, "cfg", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if cm.Data["a"] != tt.data {
				t.Errorf("data %v, want a=%s", cm.Data, tt.data)
			}
			switch tt.name {
			case "replace":
				// The whole object is replaced: the label is gone, and so is
				// the last-applied annotation the manifest does not carry.
				if len(cm.Labels) != 0 || len(cm.Annotations) != 0 {
					t.Errorf("labels %v, annotations %v survived a replace", cm.Labels, cm.Annotations)
				}
				uid = string(cm.UID)
			case "force":
				if string(cm.UID) == uid {
					t.Error("--force kept the old object")
				}
			case "save config":
				if !strings.Contains(cm.Annotations["kubectl.kubernetes.io/last-applied-configuration"], `"data":{"a":"2"}`) {
					t.Errorf("annotations %v", cm.Annotations)
				}
			}
		})
	}
}
