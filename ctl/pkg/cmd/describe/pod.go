package describe

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/duration"
)

func describePod(d *describer, u *unstructured.Unstructured, w *writer) error {
	pod, err := typed[corev1.Pod](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", pod.Name)
	w.write(0, "Namespace:\t%s\n", pod.Namespace)
	if pod.Spec.Priority != nil {
		w.write(0, "Priority:\t%d\n", *pod.Spec.Priority)
	}
	if pod.Spec.PriorityClassName != "" {
		w.write(0, "Priority Class Name:\t%s\n", pod.Spec.PriorityClassName)
	}
	if pod.Spec.RuntimeClassName != nil && *pod.Spec.RuntimeClassName != "" {
		w.write(0, "Runtime Class Name:\t%s\n", *pod.Spec.RuntimeClassName)
	}
	if pod.Spec.ServiceAccountName != "" {
		w.write(0, "Service Account:\t%s\n", pod.Spec.ServiceAccountName)
	}
	switch {
	case pod.Spec.NodeName == "":
		w.write(0, "Node:\t<none>\n")
	case pod.Status.HostIP != "":
		w.write(0, "Node:\t%s/%s\n", pod.Spec.NodeName, pod.Status.HostIP)
	default:
		w.write(0, "Node:\t%s\n", pod.Spec.NodeName)
	}
	if pod.Status.StartTime != nil {
		w.write(0, "Start Time:\t%s\n", formatTime(*pod.Status.StartTime))
	}
	printLabels(w, 0, "Labels", pod.Labels)
	printAnnotations(w, 0, "Annotations", pod.Annotations)
	if pod.DeletionTimestamp != nil {
		w.write(0, "Status:\tTerminating (lasts %s)\n", duration.HumanDuration(time.Since(pod.DeletionTimestamp.Time)))
		grace := int64(30)
		if pod.DeletionGracePeriodSeconds != nil {
			grace = *pod.DeletionGracePeriodSeconds
		}
		w.write(0, "Termination Grace Period:\t%ds\n", grace)
	} else {
		w.write(0, "Status:\t%s\n", pod.Status.Phase)
	}
	if pod.Status.Reason != "" {
		w.write(0, "Reason:\t%s\n", pod.Status.Reason)
	}
	if pod.Status.Message != "" {
		w.write(0, "Message:\t%s\n", pod.Status.Message)
	}
	if sc := pod.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		w.write(0, "SeccompProfile:\t%s\n", sc.SeccompProfile.Type)
		if sc.SeccompProfile.LocalhostProfile != nil {
			w.write(0, "LocalhostProfile:\t%s\n", *sc.SeccompProfile.LocalhostProfile)
		}
	}
	w.write(0, "IP:\t%s\n", pod.Status.PodIP)
	if len(pod.Status.PodIPs) == 0 {
		w.write(0, "IPs:\t<none>\n")
	} else {
		w.write(0, "IPs:\n")
		for _, ip := range pod.Status.PodIPs {
			w.write(1, "IP:\t%s\n", ip.IP)
		}
	}
	if c := controlledBy(pod); c != "" {
		w.write(0, "Controlled By:\t%s\n", c)
	}
	if pod.Status.NominatedNodeName != "" {
		w.write(0, "NominatedNodeName:\t%s\n", pod.Status.NominatedNodeName)
	}
	if len(pod.Spec.InitContainers) > 0 {
		containerSection(w, "Init Containers", pod.Spec.InitContainers, pod.Status.InitContainerStatuses, pod, false)
	}
	containerSection(w, "Containers", pod.Spec.Containers, pod.Status.ContainerStatuses, pod, false)
	if len(pod.Spec.ReadinessGates) > 0 {
		w.write(0, "Readiness Gates:\n")
		w.write(1, "Type\tStatus\n")
		for _, g := range pod.Spec.ReadinessGates {
			status := "<none>"
			for _, c := range pod.Status.Conditions {
				if c.Type == g.ConditionType {
					status = string(c.Status)
				}
			}
			w.write(1, "%v \t%v \n", g.ConditionType, status)
		}
	}
	if len(pod.Status.Conditions) > 0 {
		w.write(0, "Conditions:\n")
		w.write(1, "Type\tStatus\n")
		for _, c := range pod.Status.Conditions {
			w.write(1, "%v \t%v \n", c.Type, c.Status)
		}
	}
	volumeSection(w, pod.Spec.Volumes, false)
	qos := pod.Status.QOSClass
	if qos == "" {
		qos = qosClass(pod)
	}
	w.write(0, "QoS Class:\t%s\n", qos)
	printLabels(w, 0, "Node-Selectors", pod.Spec.NodeSelector)
	multiline(w, 0, "Tolerations", tolerationLines(pod.Spec.Tolerations))
	if d.showDecision {
		d.printDecision(w, pod)
	}
	d.printEvents(w, ref{kind: "Pod", namespace: pod.Namespace, name: pod.Name, uid: string(pod.UID)})
	return nil
}

// podTemplate prints the "Pod Template:" section of a workload.
func podTemplate(w *writer, t *corev1.PodTemplateSpec) {
	w.write(0, "Pod Template:\n")
	printLabels(w, 1, "Labels", t.Labels)
	if len(t.Annotations) > 0 {
		printAnnotations(w, 1, "Annotations", t.Annotations)
	}
	if t.Spec.ServiceAccountName != "" {
		w.write(1, "Service Account:\t%s\n", t.Spec.ServiceAccountName)
	}
	if len(t.Spec.InitContainers) > 0 {
		containerSection(w, "Init Containers", t.Spec.InitContainers, nil, nil, true)
	}
	containerSection(w, "Containers", t.Spec.Containers, nil, nil, true)
	volumeSection(w, t.Spec.Volumes, true)
	if t.Spec.PriorityClassName != "" {
		w.write(1, "Priority Class Name:\t%s\n", t.Spec.PriorityClassName)
	}
	printLabels(w, 1, "Node-Selectors", t.Spec.NodeSelector)
	multiline(w, 1, "Tolerations", tolerationLines(t.Spec.Tolerations))
}

// qosClass computes a pod's quality of service class when the server did
// not record it: BestEffort without requests and limits, Guaranteed when
// every container's cpu and memory limits equal its requests.
func qosClass(pod *corev1.Pod) corev1.PodQOSClass {
	any, guaranteed := false, true
	for _, c := range append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[name]
			lim, hasLim := c.Resources.Limits[name]
			if (hasReq && !req.IsZero()) || (hasLim && !lim.IsZero()) {
				any = true
			}
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// podRequestsAndLimits sums what a pod asks of its node: its containers, at
// least each init container, plus the pod overhead.
func podRequestsAndLimits(pod *corev1.Pod) (corev1.ResourceList, corev1.ResourceList) {
	reqs, limits := corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range pod.Spec.Containers {
		addResources(reqs, c.Resources.Requests)
		addResources(limits, c.Resources.Limits)
	}
	for _, c := range pod.Spec.InitContainers {
		maxResources(reqs, c.Resources.Requests)
		maxResources(limits, c.Resources.Limits)
	}
	if pod.Spec.Overhead != nil {
		addResources(reqs, pod.Spec.Overhead)
		for name, q := range pod.Spec.Overhead {
			if v, ok := limits[name]; ok {
				v.Add(q)
				limits[name] = v
			}
		}
	}
	return reqs, limits
}

func addResources(into, add corev1.ResourceList) {
	for name, q := range add {
		v := into[name]
		v.Add(q)
		into[name] = v
	}
}

func maxResources(into, other corev1.ResourceList) {
	for name, q := range other {
		if v, ok := into[name]; !ok || q.Cmp(v) > 0 {
			into[name] = q.DeepCopy()
		}
	}
}

// percent is part of whole in whole percents, 0 when whole is zero.
func percent(part, whole resource.Quantity, milli bool) int64 {
	if whole.IsZero() {
		return 0
	}
	if milli {
		return int64(float64(part.MilliValue()) / float64(whole.MilliValue()) * 100)
	}
	return int64(float64(part.Value()) / float64(whole.Value()) * 100)
}
