package label_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

type step struct {
	name     string
	args     []string
	out, err string
	code     int
	// labels and annotations of config map "x" afterwards ("k=v,..." sorted).
	labels, annotations string
}

func TestLabelAndAnnotate(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()
	for _, name := range []string{"x", "y"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"tier": "web"}}}
		if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []step{
		{"add", []string{"label", "cm", "x", "a=b"}, "configmap/x labeled\n", "", 0, "a=b,tier=web", ""},
		{"change needs --overwrite", []string{"label", "cm/x", "a=c"}, "", "error: 'a' already has a value (b), and --overwrite is false\n", 1, "a=b,tier=web", ""},
		{"same value needs nothing", []string{"label", "cm/x", "a=b"}, "configmap/x not labeled\n", "", 0, "a=b,tier=web", ""},
		{"overwrite", []string{"label", "cm/x", "a=c", "--overwrite"}, "configmap/x labeled\n", "", 0, "a=c,tier=web", ""},
		{"remove", []string{"label", "cm/x", "a-"}, "configmap/x unlabeled\n", "", 0, "tier=web", ""},
		{"remove a missing label", []string{"label", "cm/x", "a-"}, "label \"a\" not found.\nconfigmap/x not labeled\n", "", 0, "tier=web", ""},
		{"dry run", []string{"label", "cm/x", "d=1", "--dry-run=server"}, "configmap/x labeled (server dry run)\n", "", 0, "tier=web", ""},
		{"selector, -o name", []string{"label", "cm", "-l", "tier=web", "sel=1", "-o", "name"}, "configmap/x\nconfigmap/y\n", "", 0, "sel=1,tier=web", ""},
		{"--all", []string{"label", "cm", "--all", "all=1"}, "configmap/x labeled\nconfigmap/y labeled\n", "", 0, "all=1,sel=1,tier=web", ""},
		{"list", []string{"label", "cm/x", "--list"}, "all=1\nsel=1\ntier=web\n", "", 0, "all=1,sel=1,tier=web", ""},
		{"set and remove the same key", []string{"label", "cm/x", "b=1", "b-"}, "", "error: can not both modify and remove a label in the same command\n", 1, "all=1,sel=1,tier=web", ""},
		{"bad value", []string{"label", "cm/x", "a=b c"}, "", "error: invalid label value: \"a=b c\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')\n", 1, "all=1,sel=1,tier=web", ""},
		{"bad spec", []string{"label", "cm/x", "a=1=2"}, "", "error: invalid label spec: a=1=2\n", 1, "all=1,sel=1,tier=web", ""},
		{"no update", []string{"label", "cm/x"}, "", "error: at least one label update is required\n", 1, "all=1,sel=1,tier=web", ""},
		{"no resource", []string{"label", "a=b"}, "", "error: one or more resources must be specified as <resource> <name> or <resource>/<name>\n", 1, "all=1,sel=1,tier=web", ""},
		{"missing object", []string{"label", "cm", "nope", "a=b"}, "", "Error from server (NotFound): configmaps \"nope\" not found\n", 1, "all=1,sel=1,tier=web", ""},
		{"--all with a selector", []string{"label", "cm", "--all", "-l", "a=b", "c=d"}, "", "error: cannot set --all and --selector at the same time\n", 1, "all=1,sel=1,tier=web", ""},
		{"stale resource version", []string{"label", "cm/x", "rv=1", "--resource-version=1"}, "", "Error from server (Conflict): Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again\n", 1, "all=1,sel=1,tier=web", ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := env.Run(t, "", s.args...)
			if r.Code != s.code || r.Stdout != s.out || r.Stderr != s.err {
				t.Errorf("navctl %s:\ngot  exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
					strings.Join(s.args, " "), r.Code, r.Stdout, r.Stderr, s.code, s.out, s.err)
			}
			cm, err := c.CoreV1().ConfigMaps("default").Get(ctx, "x", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := flatten(cm.Labels); got != s.labels {
				t.Errorf("labels %q, want %q", got, s.labels)
			}
			if got := flatten(cm.Annotations); got != s.annotations {
				t.Errorf("annotations %q, want %q", got, s.annotations)
			}
		})
	}
}

func flatten(m map[string]string) string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}
