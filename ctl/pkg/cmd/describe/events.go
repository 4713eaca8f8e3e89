package describe

import (
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// ref names the object events are searched for.
type ref struct {
	kind, namespace, name, uid string
}

// printEvents prints the events about an object, oldest first, or
// "Events:\t<none>"; nothing with --show-events=false.
func (d *describer) printEvents(w *writer, r ref) {
	if !d.showEvents {
		return
	}
	events := d.searchEvents(r)
	if len(events) == 0 {
		w.write(0, "Events:\t<none>\n")
		return
	}
	sort.SliceStable(events, func(i, j int) bool {
		a, b := lastSeen(&events[i]), lastSeen(&events[j])
		return a.Before(&b)
	})
	w.write(0, "Events:\n")
	w.write(1, "Type\tReason\tAge\tFrom\tMessage\n")
	w.write(1, "----\t------\t----\t----\t-------\n")
	for i := range events {
		e := &events[i]
		w.write(1, "%s\t%s\t%s\t%s\t%s\n", e.Type, e.Reason, eventAge(e), eventSource(e), strings.TrimSpace(e.Message))
	}
}

// searchEvents lists the events whose involvedObject is r.
func (d *describer) searchEvents(r ref) []corev1.Event {
	sel := fields.Set{
		"involvedObject.kind":      r.kind,
		"involvedObject.name":      r.name,
		"involvedObject.namespace": r.namespace,
	}
	if r.uid != "" {
		sel["involvedObject.uid"] = r.uid
	}
	opts := metav1.ListOptions{FieldSelector: sel.AsSelector().String(), Limit: d.chunkSize}
	var out []corev1.Event
	for {
		l, err := d.cs.CoreV1().Events(r.namespace).List(d.ctx, opts)
		if err != nil {
			return out
		}
		out = append(out, l.Items...)
		if l.Continue == "" {
			return out
		}
		opts.Continue = l.Continue
	}
}

func lastSeen(e *corev1.Event) metav1.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp
	}
	if e.Series != nil {
		return metav1.Time{Time: e.Series.LastObservedTime.Time}
	}
	return metav1.Time{Time: e.EventTime.Time}
}

// eventAge is "5m", or "2m (x3 over 10m)" for a repeated event.
func eventAge(e *corev1.Event) string {
	first := e.FirstTimestamp
	if first.IsZero() {
		first = metav1.Time{Time: e.EventTime.Time}
	}
	switch {
	case e.Series != nil:
		return since(metav1.Time{Time: e.Series.LastObservedTime.Time}) + " (x" + itoa(int64(e.Series.Count)) + " over " + since(first) + ")"
	case e.Count > 1:
		return since(e.LastTimestamp) + " (x" + itoa(int64(e.Count)) + " over " + since(first) + ")"
	}
	return since(first)
}

// eventSource is the component that reported an event.
func eventSource(e *corev1.Event) string {
	if e.Source.Component != "" {
		return e.Source.Component
	}
	return e.ReportingController
}
