package describe

import (
	"sort"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
)

func describeNode(d *describer, u *unstructured.Unstructured, w *writer) error {
	node, err := typed[corev1.Node](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", node.Name)
	w.write(0, "Roles:\t%s\n", nodeRoles(node))
	printLabels(w, 0, "Labels", node.Labels)
	printAnnotations(w, 0, "Annotations", node.Annotations)
	w.write(0, "CreationTimestamp:\t%s\n", formatTime(node.CreationTimestamp))
	multiline(w, 0, "Taints", taintLines(node.Spec.Taints))
	w.write(0, "Unschedulable:\t%v\n", node.Spec.Unschedulable)

	lease, err := d.cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(d.ctx, node.Name, metav1.GetOptions{})
	if err != nil {
		w.write(0, "Lease:\tFailed to get lease: %s\n", err)
	} else {
		leaseSection(w, lease)
	}

	if len(node.Status.Conditions) > 0 {
		w.write(0, "Conditions:\n")
		w.write(1, "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
		w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
		for _, c := range node.Status.Conditions {
			w.write(1, "%v \t%v \t%s \t%s \t%v \t%v\n", c.Type, c.Status, formatTime(c.LastHeartbeatTime), formatTime(c.LastTransitionTime), c.Reason, c.Message)
		}
	}
	w.write(0, "Addresses:\n")
	for _, a := range node.Status.Addresses {
		w.write(1, "%s:\t%s\n", a.Type, a.Address)
	}
	for _, rl := range []struct {
		title string
		list  corev1.ResourceList
	}{{"Capacity", node.Status.Capacity}, {"Allocatable", node.Status.Allocatable}} {
		if len(rl.list) > 0 {
			w.write(0, "%s:\n", rl.title)
			names := make([]string, 0, len(rl.list))
			for n := range rl.list {
				names = append(names, string(n))
			}
			sort.Strings(names)
			for _, n := range names {
				q := rl.list[corev1.ResourceName(n)]
				w.write(1, "%s:\t%s\n", n, q.String())
			}
		}
	}
	info := node.Status.NodeInfo
	w.write(0, "System Info:\n")
	w.write(0, "  Machine ID:\t%s\n", info.MachineID)
	w.write(0, "  System UUID:\t%s\n", info.SystemUUID)
	w.write(0, "  Boot ID:\t%s\n", info.BootID)
	w.write(0, "  Kernel Version:\t%s\n", info.KernelVersion)
	w.write(0, "  OS Image:\t%s\n", info.OSImage)
	w.write(0, "  Operating System:\t%s\n", info.OperatingSystem)
	w.write(0, "  Architecture:\t%s\n", info.Architecture)
	w.write(0, "  Container Runtime Version:\t%s\n", info.ContainerRuntimeVersion)
	w.write(0, "  Kubelet Version:\t%s\n", info.KubeletVersion)
	w.write(0, "  Kube-Proxy Version:\t%s\n", info.KubeProxyVersion)
	if node.Spec.PodCIDR != "" {
		w.write(0, "PodCIDR:\t%s\n", node.Spec.PodCIDR)
	}
	if len(node.Spec.PodCIDRs) > 0 {
		w.write(0, "PodCIDRs:\t%s\n", strings.Join(node.Spec.PodCIDRs, ","))
	}
	if node.Spec.ProviderID != "" {
		w.write(0, "ProviderID:\t%s\n", node.Spec.ProviderID)
	}

	sel := fields.ParseSelectorOrDie("spec.nodeName=" + node.Name + ",status.phase!=" + string(corev1.PodSucceeded) + ",status.phase!=" + string(corev1.PodFailed))
	pods, err := d.cs.CoreV1().Pods("").List(d.ctx, metav1.ListOptions{FieldSelector: sel.String()})
	if err != nil {
		w.write(0, "Pods:\tnot authorized\n")
	} else {
		nodePods(w, node, pods.Items)
	}
	d.printEvents(w, ref{kind: "Node", name: node.Name, uid: node.Name})
	return nil
}

// nodeRoles are the roles node-role.kubernetes.io/<role> and
// kubernetes.io/role labels give a node, "<none>" without any.
func nodeRoles(n *corev1.Node) string {
	var roles []string
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			if r := strings.TrimPrefix(k, "node-role.kubernetes.io/"); r != "" {
				roles = append(roles, r)
			}
		case k == "kubernetes.io/role" && v != "":
			roles = append(roles, v)
		}
	}
	if len(roles) == 0 {
		return "<none>"
	}
	sort.Strings(roles)
	return strings.Join(roles, ",")
}

func leaseSection(w *writer, l *coordinationv1.Lease) {
	holder := "<unset>"
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	w.write(0, "Lease:\n")
	w.write(1, "HolderIdentity:\t%s\n", holder)
	acquire, renew := "<unset>", "<unset>"
	if l.Spec.AcquireTime != nil {
		acquire = formatTime(metav1.Time{Time: l.Spec.AcquireTime.Time})
	}
	if l.Spec.RenewTime != nil {
		renew = formatTime(metav1.Time{Time: l.Spec.RenewTime.Time})
	}
	w.write(1, "AcquireTime:\t%s\n", acquire)
	w.write(1, "RenewTime:\t%s\n", renew)
}

// nodePods prints the pods running on a node with their share of the
// node's allocatable resources, and the totals.
func nodePods(w *writer, node *corev1.Node, pods []corev1.Pod) {
	alloc := node.Status.Allocatable
	if len(alloc) == 0 {
		alloc = node.Status.Capacity
	}
	w.write(0, "Non-terminated Pods:\t(%d in total)\n", len(pods))
	w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
	w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
	totalReq, totalLim := corev1.ResourceList{}, corev1.ResourceList{}
	for i := range pods {
		p := &pods[i]
		req, lim := podRequestsAndLimits(p)
		addResources(totalReq, req)
		addResources(totalLim, lim)
		cpuReq, cpuLim := req[corev1.ResourceCPU], lim[corev1.ResourceCPU]
		memReq, memLim := req[corev1.ResourceMemory], lim[corev1.ResourceMemory]
		w.write(1, "%s\t%s\t\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s\n", p.Namespace, p.Name,
			cpuReq.String(), percent(cpuReq, alloc[corev1.ResourceCPU], true),
			cpuLim.String(), percent(cpuLim, alloc[corev1.ResourceCPU], true),
			memReq.String(), percent(memReq, alloc[corev1.ResourceMemory], false),
			memLim.String(), percent(memLim, alloc[corev1.ResourceMemory], false),
			since(p.CreationTimestamp))
	}
	w.write(0, "Allocated resources:\n")
	w.write(1, "(Total limits may be over 100 percent, i.e., overcommitted.)\n")
	w.write(1, "Resource\tRequests\tLimits\n")
	w.write(1, "--------\t--------\t------\n")
	for _, r := range []struct {
		name  corev1.ResourceName
		milli bool
	}{{corev1.ResourceCPU, true}, {corev1.ResourceMemory, false}, {corev1.ResourceEphemeralStorage, false}} {
		req, lim := totalReq[r.name], totalLim[r.name]
		w.write(1, "%s\t%s (%d%%)\t%s (%d%%)\n", r.name, req.String(), percent(req, alloc[r.name], r.milli), lim.String(), percent(lim, alloc[r.name], r.milli))
	}
	var extended []string
	for name := range alloc {
		if strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix) || strings.Contains(string(name), "/") {
			extended = append(extended, string(name))
		}
	}
	sort.Strings(extended)
	for _, n := range extended {
		name := corev1.ResourceName(n)
		req, lim := totalReq[name], totalLim[name]
		if strings.HasPrefix(n, corev1.ResourceHugePagesPrefix) {
			w.write(1, "%s\t%s (%d%%)\t%s (%d%%)\n", n, req.String(), percent(req, alloc[name], false), lim.String(), percent(lim, alloc[name], false))
			continue
		}
		w.write(1, "%s\t%s\t%s\n", n, req.String(), lim.String())
	}
}
