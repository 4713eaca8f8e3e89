package describe

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
)

func describeDeployment(d *describer, u *unstructured.Unstructured, w *writer) error {
	dep, err := typed[appsv1.Deployment](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", dep.Name)
	w.write(0, "Namespace:\t%s\n", dep.Namespace)
	w.write(0, "CreationTimestamp:\t%s\n", formatTime(dep.CreationTimestamp))
	printLabels(w, 0, "Labels", dep.Labels)
	printAnnotations(w, 0, "Annotations", dep.Annotations)
	w.write(0, "Selector:\t%s\n", metav1.FormatLabelSelector(dep.Spec.Selector))
	st := dep.Status
	w.write(0, "Replicas:\t%d desired | %d updated | %d total | %d available | %d unavailable\n", replicas(dep.Spec.Replicas), st.UpdatedReplicas, st.Replicas, st.AvailableReplicas, st.UnavailableReplicas)
	w.write(0, "StrategyType:\t%s\n", dep.Spec.Strategy.Type)
	w.write(0, "MinReadySeconds:\t%d\n", dep.Spec.MinReadySeconds)
	if ru := dep.Spec.Strategy.RollingUpdate; ru != nil {
		w.write(0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n", ru.MaxUnavailable.String(), ru.MaxSurge.String())
	}
	podTemplate(w, &dep.Spec.Template)
	if len(st.Conditions) > 0 {
		w.write(0, "Conditions:\n")
		w.write(1, "Type\tStatus\tReason\n")
		w.write(1, "----\t------\t------\n")
		for _, c := range st.Conditions {
			w.write(1, "%v \t%v\t%v\n", c.Type, c.Status, c.Reason)
		}
	}
	if oldRS, newRS := d.deploymentReplicaSets(dep); len(oldRS)+len(newRS) > 0 {
		w.write(0, "OldReplicaSets:\t%s\n", rsList(oldRS))
		w.write(0, "NewReplicaSet:\t%s\n", rsList(newRS))
	}
	d.printEvents(w, ref{kind: "Deployment", namespace: dep.Namespace, name: dep.Name, uid: string(dep.UID)})
	return nil
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

// deploymentReplicaSets are a deployment's replica sets: the new one has
// its pod template (but for the pod-template-hash label), the others are old.
func (d *describer) deploymentReplicaSets(dep *appsv1.Deployment) (old, cur []appsv1.ReplicaSet) {
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		return nil, nil
	}
	l, err := d.cs.AppsV1().ReplicaSets(dep.Namespace).List(d.ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, nil
	}
	for _, rs := range l.Items {
		if !controlledByUID(&rs, dep.UID) {
			continue
		}
		if sameTemplate(&rs.Spec.Template, &dep.Spec.Template) && len(cur) == 0 {
			cur = append(cur, rs)
		} else {
			old = append(old, rs)
		}
	}
	return old, cur
}

func controlledByUID(m metav1.Object, uid types.UID) bool {
	for _, r := range m.GetOwnerReferences() {
		if r.Controller != nil && *r.Controller && r.UID == uid {
			return true
		}
	}
	return false
}

// sameTemplate compares pod templates ignoring the pod-template-hash label.
func sameTemplate(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	if len(a.Labels) == 0 {
		a.Labels = nil
	}
	if len(b.Labels) == 0 {
		b.Labels = nil
	}
	return equality.Semantic.DeepEqual(a, b)
}

// rsList is "name (2/2 replicas created), ..." or "<none>".
func rsList(rss []appsv1.ReplicaSet) string {
	if len(rss) == 0 {
		return "<none>"
	}
	var parts []string
	for _, rs := range rss {
		parts = append(parts, fmt.Sprintf("%s (%d/%d replicas created)", rs.Name, rs.Status.Replicas, replicas(rs.Spec.Replicas)))
	}
	return strings.Join(parts, ", ")
}

// podStatuses counts the phases of the pods a controller owns.
func (d *describer) podStatuses(ns string, selector *metav1.LabelSelector, uid types.UID) (running, waiting, succeeded, failed int) {
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return
	}
	pods, err := d.cs.CoreV1().Pods(ns).List(d.ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return
	}
	for _, p := range pods.Items {
		if !controlledByUID(&p, uid) {
			continue
		}
		switch p.Status.Phase {
		case corev1.PodRunning:
			running++
		case corev1.PodPending:
			waiting++
		case corev1.PodSucceeded:
			succeeded++
		case corev1.PodFailed:
			failed++
		}
	}
	return
}

func (d *describer) printPodsStatus(w *writer, ns string, selector *metav1.LabelSelector, uid types.UID) {
	r, wt, s, f := d.podStatuses(ns, selector, uid)
	w.write(0, "Pods Status:\t%d Running / %d Waiting / %d Succeeded / %d Failed\n", r, wt, s, f)
}

func describeReplicaSet(d *describer, u *unstructured.Unstructured, w *writer) error {
	rs, err := typed[appsv1.ReplicaSet](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", rs.Name)
	w.write(0, "Namespace:\t%s\n", rs.Namespace)
	w.write(0, "Selector:\t%s\n", metav1.FormatLabelSelector(rs.Spec.Selector))
	printLabels(w, 0, "Labels", rs.Labels)
	printAnnotations(w, 0, "Annotations", rs.Annotations)
	if c := controlledBy(rs); c != "" {
		w.write(0, "Controlled By:\t%s\n", c)
	}
	w.write(0, "Replicas:\t%d current / %d desired\n", rs.Status.Replicas, replicas(rs.Spec.Replicas))
	d.printPodsStatus(w, rs.Namespace, rs.Spec.Selector, rs.UID)
	podTemplate(w, &rs.Spec.Template)
	if len(rs.Status.Conditions) > 0 {
		w.write(0, "Conditions:\n")
		w.write(1, "Type\tStatus\tReason\n")
		w.write(1, "----\t------\t------\n")
		for _, c := range rs.Status.Conditions {
			w.write(1, "%v \t%v\t%v\n", c.Type, c.Status, c.Reason)
		}
	}
	d.printEvents(w, ref{kind: "ReplicaSet", namespace: rs.Namespace, name: rs.Name, uid: string(rs.UID)})
	return nil
}

func describeStatefulSet(d *describer, u *unstructured.Unstructured, w *writer) error {
	ss, err := typed[appsv1.StatefulSet](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", ss.Name)
	w.write(0, "Namespace:\t%s\n", ss.Namespace)
	w.write(0, "CreationTimestamp:\t%s\n", formatTime(ss.CreationTimestamp))
	w.write(0, "Selector:\t%s\n", metav1.FormatLabelSelector(ss.Spec.Selector))
	printLabels(w, 0, "Labels", ss.Labels)
	printAnnotations(w, 0, "Annotations", ss.Annotations)
	w.write(0, "Replicas:\t%d desired | %d total\n", replicas(ss.Spec.Replicas), ss.Status.Replicas)
	w.write(0, "Update Strategy:\t%s\n", ss.Spec.UpdateStrategy.Type)
	if ru := ss.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		w.write(1, "Partition:\t%d\n", *ru.Partition)
	}
	d.printPodsStatus(w, ss.Namespace, ss.Spec.Selector, ss.UID)
	podTemplate(w, &ss.Spec.Template)
	if len(ss.Spec.VolumeClaimTemplates) > 0 {
		w.write(0, "Volume Claims:\n")
		for _, pvc := range ss.Spec.VolumeClaimTemplates {
			w.write(1, "Name:\t%s\n", pvc.Name)
			sc := ""
			if pvc.Spec.StorageClassName != nil {
				sc = *pvc.Spec.StorageClassName
			}
			w.write(1, "StorageClass:\t%s\n", sc)
			printLabels(w, 1, "Labels", pvc.Labels)
			printAnnotations(w, 1, "Annotations", pvc.Annotations)
			if cap, ok := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
				w.write(1, "Capacity:\t%s\n", cap.String())
			} else {
				w.write(1, "Capacity:\t%s\n", "<default>")
			}
			w.write(1, "Access Modes:\t%s\n", fmt.Sprint(pvc.Spec.AccessModes))
		}
	} else {
		w.write(0, "Volume Claims:\t<none>\n")
	}
	d.printEvents(w, ref{kind: "StatefulSet", namespace: ss.Namespace, name: ss.Name, uid: string(ss.UID)})
	return nil
}

func describeDaemonSet(d *describer, u *unstructured.Unstructured, w *writer) error {
	ds, err := typed[appsv1.DaemonSet](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", ds.Name)
	w.write(0, "Namespace:\t%s\n", ds.Namespace)
	w.write(0, "Selector:\t%s\n", metav1.FormatLabelSelector(ds.Spec.Selector))
	ns := "<none>"
	if len(ds.Spec.Template.Spec.NodeSelector) > 0 {
		ns = labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector)
	}
	w.write(0, "Node-Selector:\t%s\n", ns)
	printLabels(w, 0, "Labels", ds.Labels)
	printAnnotations(w, 0, "Annotations", ds.Annotations)
	st := ds.Status
	w.write(0, "Desired Number of Nodes Scheduled: %d\n", st.DesiredNumberScheduled)
	w.write(0, "Current Number of Nodes Scheduled: %d\n", st.CurrentNumberScheduled)
	w.write(0, "Number of Nodes Scheduled with Up-to-date Pods: %d\n", st.UpdatedNumberScheduled)
	w.write(0, "Number of Nodes Scheduled with Available Pods: %d\n", st.NumberAvailable)
	w.write(0, "Number of Nodes Misscheduled: %d\n", st.NumberMisscheduled)
	d.printPodsStatus(w, ds.Namespace, ds.Spec.Selector, ds.UID)
	podTemplate(w, &ds.Spec.Template)
	d.printEvents(w, ref{kind: "DaemonSet", namespace: ds.Namespace, name: ds.Name, uid: string(ds.UID)})
	return nil
}

func describeJob(d *describer, u *unstructured.Unstructured, w *writer) error {
	job, err := typed[batchv1.Job](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", job.Name)
	w.write(0, "Namespace:\t%s\n", job.Namespace)
	w.write(0, "Selector:\t%s\n", metav1.FormatLabelSelector(job.Spec.Selector))
	printLabels(w, 0, "Labels", job.Labels)
	printAnnotations(w, 0, "Annotations", job.Annotations)
	if c := controlledBy(job); c != "" {
		w.write(0, "Controlled By:\t%s\n", c)
	}
	if job.Spec.Parallelism != nil {
		w.write(0, "Parallelism:\t%d\n", *job.Spec.Parallelism)
	}
	if job.Spec.Completions != nil {
		w.write(0, "Completions:\t%d\n", *job.Spec.Completions)
	} else {
		w.write(0, "Completions:\t<unset>\n")
	}
	if job.Spec.CompletionMode != nil {
		w.write(0, "Completion Mode:\t%s\n", *job.Spec.CompletionMode)
	}
	if job.Spec.Suspend != nil {
		w.write(0, "Suspend:\t%v\n", *job.Spec.Suspend)
	}
	if job.Spec.BackoffLimit != nil {
		w.write(0, "Backoff Limit:\t%d\n", *job.Spec.BackoffLimit)
	}
	if job.Spec.TTLSecondsAfterFinished != nil {
		w.write(0, "TTL Seconds After Finished:\t%d\n", *job.Spec.TTLSecondsAfterFinished)
	}
	if job.Status.StartTime != nil {
		w.write(0, "Start Time:\t%s\n", formatTime(*job.Status.StartTime))
	}
	if job.Status.CompletionTime != nil {
		w.write(0, "Completed At:\t%s\n", formatTime(*job.Status.CompletionTime))
	}
	if job.Status.StartTime != nil && job.Status.CompletionTime != nil {
		w.write(0, "Duration:\t%s\n", duration.HumanDuration(job.Status.CompletionTime.Sub(job.Status.StartTime.Time)))
	}
	if job.Spec.ActiveDeadlineSeconds != nil {
		w.write(0, "Active Deadline Seconds:\t%ds\n", *job.Spec.ActiveDeadlineSeconds)
	}
	if job.Status.Ready == nil {
		w.write(0, "Pods Statuses:\t%d Active / %d Succeeded / %d Failed\n", job.Status.Active, job.Status.Succeeded, job.Status.Failed)
	} else {
		w.write(0, "Pods Statuses:\t%d Active (%d Ready) / %d Succeeded / %d Failed\n", job.Status.Active, *job.Status.Ready, job.Status.Succeeded, job.Status.Failed)
	}
	if job.Spec.CompletionMode != nil && *job.Spec.CompletionMode == batchv1.IndexedCompletion {
		idx := job.Status.CompletedIndexes
		if idx == "" {
			idx = "<none>"
		}
		w.write(0, "Completed Indexes:\t%s\n", idx)
	}
	podTemplate(w, &job.Spec.Template)
	d.printEvents(w, ref{kind: "Job", namespace: job.Namespace, name: job.Name, uid: string(job.UID)})
	return nil
}
