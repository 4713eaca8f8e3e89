package describe

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/ctl/pkg/decisions"
)

// schedulerLookup is where a scheduler was found, or why not.
type schedulerLookup struct {
	base string
	err  error
}

// printDecision prints the "Scheduling Decision:" section of a pod: the
// scheduler's last decision, with one row per node it evaluated (feasible
// nodes best first, then rejected ones with the filter and its reasons). A
// scheduler that cannot be found or has no decision is noted in the section
// and reported as a problem.
func (d *describer) printDecision(w *writer, pod *corev1.Pod) {
	name := pod.Spec.SchedulerName
	if name == "" {
		name = corev1.DefaultSchedulerName
	}
	// Pods of one scheduler share its lookup.
	if d.schedulers == nil {
		d.schedulers = map[string]schedulerLookup{}
	}
	l, ok := d.schedulers[name]
	if !ok {
		l.base, l.err = decisions.Find(d.ctx, d.cs, name, d.schedulerAddress)
		d.schedulers[name] = l
	}
	base, err := l.base, l.err
	var dec *decisions.Decision
	if err == nil {
		dec, err = decisions.Get(d.ctx, base, pod.Namespace, pod.Name)
	}
	if err == nil && dec.UID != "" && dec.UID != string(pod.UID) {
		err = fmt.Errorf("%w for this pod at scheduler %s: its last decision for %s/%s is about an earlier pod of that name (uid %s)",
			decisions.ErrNoDecision, base, pod.Namespace, pod.Name, dec.UID)
	}
	if err != nil {
		w.write(0, "Scheduling Decision:\t<unavailable>\n")
		d.problems = append(d.problems, fmt.Errorf("pod %s/%s: scheduling decision: %w", pod.Namespace, pod.Name, err))
		return
	}
	w.write(0, "Scheduling Decision:\n")
	w.write(1, "Scheduler:\t%s (%s)\n", dec.SchedulerName, base)
	w.write(1, "Time:\t%s\n", formatTime(metav1.NewTime(dec.Time)))
	w.write(1, "Attempt:\t%d\n", dec.Attempt)
	w.write(1, "Result:\t%s\n", dec.Result)
	if dec.Node != "" {
		w.write(1, "Node:\t%s\n", dec.Node)
	}
	if dec.NominatedNode != "" {
		w.write(1, "Nominated Node:\t%s\n", dec.NominatedNode)
	}
	w.write(1, "Message:\t%s\n", dec.Message)
	w.write(1, "Nodes:\t%d total, %d evaluated, %d feasible\n", dec.NumNodes, dec.Evaluated, dec.Feasible)
	if len(dec.Nodes) == 0 {
		return
	}
	w.write(1, "Verdicts:\n")
	rows := append([]decisions.NodeVerdict(nil), dec.Nodes...)
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Passed != b.Passed {
			return a.Passed
		}
		if a.Scored != b.Scored {
			return a.Scored
		}
		if a.Total != b.Total {
			return a.Total > b.Total
		}
		return a.Node < b.Node
	})
	header := append(append([]string{"Node", "Filter"}, dec.ScorePlugins...), "Total")
	underline := make([]string, len(header))
	for i, h := range header {
		underline[i] = strings.Repeat("-", len(h))
	}
	// The table is aligned on its own, so that it neither widens nor is
	// widened by the lines around it (the Events line below).
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	fmt.Fprintln(tw, strings.Join(underline, "\t"))
	for _, n := range rows {
		cols := []string{n.Node}
		switch {
		case !n.Passed:
			cols = append(cols, n.Plugin+": "+strings.Join(n.Reasons, ", "))
		case n.Node == dec.Node:
			cols = append(cols, "passed (chosen)")
		default:
			cols = append(cols, "passed")
		}
		for i := range dec.ScorePlugins {
			if n.Scored && i < len(n.Scores) {
				cols = append(cols, fmt.Sprint(n.Scores[i]))
			} else {
				cols = append(cols, "-")
			}
		}
		if n.Scored {
			cols = append(cols, fmt.Sprint(n.Total))
		} else {
			cols = append(cols, "-")
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	tw.Flush()
	for _, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		w.write(2, "%s\n", strings.TrimRight(line, " "))
	}
}
