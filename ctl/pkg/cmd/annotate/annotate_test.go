package annotate_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

func TestAnnotate(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()
	for _, name := range []string{"x", "y"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"tier": "web"}}}
		if _, err := c.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name     string
		args     []string
		out, err string
		code     int
		// labels and annotations of config map "x" afterwards ("k=v,..." sorted).
		labels, annotations string
	}{
		{"annotate", []string{"annotate", "cm/x", "note=hello world"}, "configmap/x annotated\n", "", 0, "tier=web", "note=hello world"},
		{"annotation change needs --overwrite", []string{"annotate", "cm/x", "note=bye"}, "", "error: --overwrite is false but found the following declared annotation(s): 'note' already has a value (hello world)\n", 1, "tier=web", "note=hello world"},
		{"annotation overwrite, JSON value", []string{"annotate", "cm/x", `note={"a":1}`, "--overwrite"}, "configmap/x annotated\n", "", 0, "tier=web", `note={"a":1}`},
		{"annotation removal", []string{"annotate", "cm/x", "note-"}, "configmap/x annotated\n", "", 0, "tier=web", ""},
		{"annotation list of several", []string{"annotate", "cm", "x", "y", "k=v", "--list"}, "Listing annotations for ConfigMap./x:\n k=v\nListing annotations for ConfigMap./y:\n k=v\n", "", 0, "tier=web", ""},
		{"no annotation update", []string{"annotate", "cm/x"}, "", "error: at least one annotation update is required\n", 1, "tier=web", ""},
		{"annotate and remove the same key", []string{"annotate", "cm/x", "b=1", "b-"}, "", "error: can not both modify and remove an annotation in the same command\n", 1, "tier=web", ""},
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
