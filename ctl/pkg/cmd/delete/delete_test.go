package delete_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/e2e/clitest"
)

type result struct {
	out, err string
	code     int
}

func makeConfigMap(t *testing.T, c kubernetes.Interface, ns, name string, labels map[string]string, finalizers ...string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Finalizers: finalizers}}
	if _, err := c.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func exists(t *testing.T, c kubernetes.Interface, ns, name string) bool {
	t.Helper()
	_, err := c.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func TestDelete(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	for _, name := range []string{"a1", "a2", "a3", "dry", "forced", "now", "f1"} {
		makeConfigMap(t, c, "default", name, nil)
	}
	makeConfigMap(t, c, "default", "web-1", map[string]string{"app": "web"})
	makeConfigMap(t, c, "default", "web-2", map[string]string{"app": "web"})
	makeConfigMap(t, c, "kube-public", "all-1", nil)
	makeConfigMap(t, c, "kube-public", "all-2", nil)
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "scratch"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Pods("default").Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p1"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1.36"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: f1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: f2\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		args     []string
		want     result
		gone     []string // config maps in default deleted by the case
		survives []string // and kept
	}{
		{
			name:     "names, one missing",
			args:     []string{"delete", "configmap", "a1", "nope", "a2"},
			want:     result{out: "configmap \"a1\" deleted from default namespace\nconfigmap \"a2\" deleted from default namespace\n", err: "Error from server (NotFound): configmaps \"nope\" not found\n", code: 1},
			gone:     []string{"a1", "a2"},
			survives: []string{"a3"},
		},
		{
			name: "ignore not found",
			args: []string{"delete", "cm", "nope", "--ignore-not-found"},
			want: result{},
		},
		{
			name: "TYPE/NAME, -o name",
			args: []string{"delete", "cm/a3", "-o", "name"},
			want: result{out: "configmap/a3\n"},
			gone: []string{"a3"},
		},
		{
			name:     "client dry run",
			args:     []string{"delete", "cm", "dry", "--dry-run=client"},
			want:     result{out: "configmap \"dry\" deleted from default namespace (dry run)\n"},
			survives: []string{"dry"},
		},
		{
			name:     "server dry run",
			args:     []string{"delete", "cm", "dry", "--dry-run=server"},
			want:     result{out: "configmap \"dry\" deleted from default namespace (server dry run)\n"},
			survives: []string{"dry"},
		},
		{
			name:     "label selector",
			args:     []string{"delete", "cm", "-l", "app=web"},
			want:     result{out: "configmap \"web-1\" deleted from default namespace\nconfigmap \"web-2\" deleted from default namespace\n"},
			gone:     []string{"web-1", "web-2"},
			survives: []string{"dry"},
		},
		{
			name: "selector matching nothing",
			args: []string{"delete", "cm", "-l", "app=none"},
			want: result{out: "No resources found\n"},
		},
		{
			name: "--all in a namespace",
			args: []string{"delete", "cm", "--all", "-n", "kube-public"},
			want: result{out: "configmap \"all-1\" deleted from kube-public namespace\nconfigmap \"all-2\" deleted from kube-public namespace\n"},
		},
		{
			name: "force",
			args: []string{"delete", "cm", "forced", "--force"},
			want: result{out: "configmap \"forced\" force deleted from default namespace\n", err: "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n"},
			gone: []string{"forced"},
		},
		{
			name: "now",
			args: []string{"delete", "cm", "now", "--now"},
			want: result{out: "configmap \"now\" deleted from default namespace\n"},
			gone: []string{"now"},
		},
		{
			name: "a pod",
			args: []string{"delete", "pod", "p1"},
			want: result{out: "pod \"p1\" deleted from default namespace\n"},
		},
		{
			name: "manifests",
			args: []string{"delete", "-f", file},
			want: result{out: "configmap \"f1\" deleted from default namespace\n", err: "Error from server (NotFound): error when deleting \"" + file + "\": configmaps \"f2\" not found\n", code: 1},
			gone: []string{"f1"},
		},
		{
			name: "a cluster-scoped object, orphaning",
			args: []string{"delete", "namespace", "scratch", "--cascade=orphan", "--wait=false"},
			want: result{out: "namespace \"scratch\" deleted\n"},
		},
		{
			name: "deprecated cascade value",
			args: []string{"delete", "cm", "dry", "--cascade=true", "--dry-run=client"},
			want: result{out: "configmap \"dry\" deleted from default namespace (dry run)\n", err: "warning: --cascade=true is deprecated (boolean value) and can be replaced with --cascade=background.\n"},
		},
		{"bad cascade", []string{"delete", "cm", "dry", "--cascade=bogus"}, result{err: "error: invalid cascade value (bogus). Must be \"background\", \"foreground\", or \"orphan\"\n", code: 1}, nil, []string{"dry"}},
		{"now with grace period", []string{"delete", "cm", "dry", "--now", "--grace-period=3"}, result{err: "error: --now and --grace-period cannot be specified together\n", code: 1}, nil, []string{"dry"}},
		{"output other than name", []string{"delete", "cm", "dry", "-o", "yaml"}, result{err: "error: unexpected -o output mode: yaml. We only support '-o name'\n", code: 1}, nil, []string{"dry"}},
		{"--all with a selector", []string{"delete", "cm", "--all", "-l", "a=b"}, result{err: "error: setting 'all' parameter but found a non empty selector. \n", code: 1}, nil, nil},
		{"names with a selector", []string{"delete", "cm", "dry", "-l", "a=b"}, result{err: "error: name cannot be provided when a selector is specified\n", code: 1}, nil, []string{"dry"}},
		{"files and names", []string{"delete", "cm", "dry", "-f", file}, result{err: "error: when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well\n", code: 1}, nil, []string{"dry"}},
		{"type without names", []string{"delete", "cm"}, result{err: "error: resource(s) were provided, but no name was specified\n", code: 1}, nil, []string{"dry"}},
		{
			name: "nothing",
			args: []string{"delete"},
			want: result{err: "error: You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'\n", code: 1},
		},
		{"unknown type", []string{"delete", "widgets", "w"}, result{err: "error: the server doesn't have a resource type \"widgets\"\n", code: 1}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", tt.args...)
			if r.Code != tt.want.code || r.Stdout != tt.want.out || r.Stderr != tt.want.err {
				t.Errorf("navctl %s:\ngot  exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
					strings.Join(tt.args, " "), r.Code, r.Stdout, r.Stderr, tt.want.code, tt.want.out, tt.want.err)
			}
			for _, name := range tt.gone {
				if exists(t, c, "default", name) {
					t.Errorf("config map %s still exists", name)
				}
			}
			for _, name := range tt.survives {
				if !exists(t, c, "default", name) {
					t.Errorf("config map %s was deleted", name)
				}
			}
		})
	}
}

// TestDeleteWaits checks that delete waits until the object is gone, here
// until a finalizer is removed.
func TestDeleteWaits(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()
	makeConfigMap(t, c, "default", "held", nil, "example.com/hold")

	// Without waiting, the object is left terminating.
	if got := env.OK(t, "", "delete", "cm", "held", "--wait=false"); got != "configmap \"held\" deleted from default namespace\n" {
		t.Fatalf("printed %q", got)
	}
	cm, err := c.CoreV1().ConfigMaps("default").Get(ctx, "held", metav1.GetOptions{})
	if err != nil || cm.DeletionTimestamp == nil {
		t.Fatalf("want a terminating config map, got %v %v", cm, err)
	}

	// Waiting gives up at the timeout.
	r := env.Run(t, "", "delete", "cm", "held", "--timeout=1s")
	if r.Code != 1 || r.Stdout != "configmap \"held\" deleted from default namespace\n" || r.Stderr != "error: timed out waiting for the condition on configmaps/held\n" {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", r.Code, r.Stdout, r.Stderr)
	}

	// Waiting returns once the finalizer is gone.
	done := make(chan error, 1)
	go func() {
		time.Sleep(time.Second)
		_, err := c.CoreV1().ConfigMaps("default").Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		done <- err
	}()
	out := env.OK(t, "", "delete", "cm", "held")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out != "configmap \"held\" deleted from default namespace\n" {
		t.Errorf("printed %q", out)
	}
	if exists(t, c, "default", "held") {
		t.Error("delete returned while the object still existed")
	}
}

// TestDeleteInteractive asks before deleting.
func TestDeleteInteractive(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	makeConfigMap(t, c, "default", "keep", nil)
	prompt := "You are about to delete the following 1 resource(s):\nconfigmap/keep\nDo you want to continue? (y/N): "
	if got := env.OK(t, "n\n", "delete", "cm", "keep", "-i"); got != prompt+"deletion is cancelled\n" {
		t.Errorf("printed %q", got)
	}
	if !exists(t, c, "default", "keep") {
		t.Fatal("deleted although the answer was no")
	}
	if got := env.OK(t, "y\n", "delete", "cm", "keep", "-i"); got != prompt+"configmap \"keep\" deleted from default namespace\n" {
		t.Errorf("printed %q", got)
	}
	if exists(t, c, "default", "keep") {
		t.Error("not deleted although the answer was yes")
	}
}
