package tables

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// since is the age of t at now in kubectl's short form ("5m", "3d4h"), "<unknown>" for an
// unset time.
func since(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// sinceMicro is since for a MicroTime.
func sinceMicro(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// containerCells returns the containers' names and images, each comma-separated.
func containerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i] = c.Name
		im[i] = c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

// boolString spells a bool the way upstream's printers do.
func boolString(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// boolPtrString is boolString, with "<unset>" for nil.
func boolPtrString(b *bool) string {
	if b == nil {
		return "<unset>"
	}
	return boolString(*b)
}

// orNone returns s, or "<none>" when s is empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// replicas returns *r, or 1 for nil: the value API defaulting gives an unset replicas field.
func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// firstThree joins up to three items with commas and, when there were more (total counts
// them all), says how many were left out: "a,b,c + 2 more...".
func firstThree(items []string, total int) string {
	const shown = 3
	if total > shown {
		return fmt.Sprintf("%s + %d more...", strings.Join(items[:shown], ","), total-shown)
	}
	return strings.Join(items, ",")
}
