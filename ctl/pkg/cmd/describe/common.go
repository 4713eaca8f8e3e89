package describe

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// lastAppliedAnnotation is kept out of descriptions, as kubectl keeps it out.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// maxAnnotationLen is how long "key: value" may get before the value is
// printed on lines of its own, cut to maxAnnotationLen-2 characters.
const maxAnnotationLen = 140

// typed converts an unstructured object into a typed one.
func typed[T any](u *unstructured.Unstructured) (*T, error) {
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		return nil, fmt.Errorf("describe %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return out, nil
}

// multiline prints "title:\tfirst" and each further line aligned under the
// first, or "title:\t<none>".
func multiline(w *writer, level int, title string, lines []string) {
	w.write(level, "%s:\t", title)
	if len(lines) == 0 {
		w.write(0, "<none>\n")
		return
	}
	w.write(0, "%s\n", lines[0])
	for _, l := range lines[1:] {
		w.write(level, "\t%s\n", l)
	}
}

// labelLines are "k=v" lines sorted by key.
func labelLines(m map[string]string) []string {
	keys := sortedKeys(m)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + m[k]
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func printLabels(w *writer, level int, title string, m map[string]string) {
	multiline(w, level, title, labelLines(m))
}

// printAnnotations prints annotations as kubectl does: "key: value", or for
// long and multi-line values "key:" with the value's lines indented below.
func printAnnotations(w *writer, level int, title string, m map[string]string) {
	w.write(level, "%s:\t", title)
	keys := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		if k != lastAppliedAnnotation {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		w.write(0, "<none>\n")
		return
	}
	for i, k := range keys {
		if i > 0 {
			w.write(level, "\t")
		}
		v := strings.TrimSuffix(m[k], "\n")
		if len(k)+2+len(v) > maxAnnotationLen || strings.Contains(v, "\n") {
			w.write(0, "%s:\n", k)
			for _, l := range strings.Split(v, "\n") {
				w.write(level, "\t  %s\n", shorten(l, maxAnnotationLen-2))
			}
			continue
		}
		w.write(0, "%s: %s\n", k, v)
	}
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// formatTime is a timestamp as kubectl describe prints it.
func formatTime(t metav1.Time) string {
	return t.Time.Local().Format(time.RFC1123Z)
}

// since is the age of a timestamp, "<unknown>" when unset.
func since(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t.Time))
}

// controlledBy is "Kind/name" of the object's controller, or "".
func controlledBy(m metav1.Object) string {
	for _, r := range m.GetOwnerReferences() {
		if r.Controller != nil && *r.Controller {
			return r.Kind + "/" + r.Name
		}
	}
	return ""
}

// taintLines are "key=value:effect" lines.
func taintLines(taints []corev1.Taint) []string {
	out := make([]string, len(taints))
	for i, t := range taints {
		out[i] = t.ToString()
	}
	return out
}

// tolerationLines are tolerations as kubectl prints them:
// "key=value:effect", "key:effect op=Exists for 300s".
func tolerationLines(ts []corev1.Toleration) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		if t.Effect != "" {
			s += ":" + string(t.Effect)
		}
		if t.Operator == corev1.TolerationOpExists && t.Value == "" {
			if s != "" {
				s += " "
			}
			s += "op=Exists"
		}
		if t.TolerationSeconds != nil {
			s += fmt.Sprintf(" for %ds", *t.TolerationSeconds)
		}
		out[i] = s
	}
	return out
}

// boolStr prints a *bool as kubectl does, false when unset.
func boolStr(b *bool) string {
	return fmt.Sprint(b != nil && *b)
}

// orNone is s, or "<none>" when empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
