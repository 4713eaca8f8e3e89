package describe

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func describeService(d *describer, u *unstructured.Unstructured, w *writer) error {
	svc, err := typed[corev1.Service](u)
	if err != nil {
		return err
	}
	slices, _ := d.cs.DiscoveryV1().EndpointSlices(svc.Namespace).List(d.ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc.Name})
	w.write(0, "Name:\t%s\n", svc.Name)
	w.write(0, "Namespace:\t%s\n", svc.Namespace)
	printLabels(w, 0, "Labels", svc.Labels)
	printAnnotations(w, 0, "Annotations", svc.Annotations)
	w.write(0, "Selector:\t%s\n", labels.FormatLabels(svc.Spec.Selector))
	w.write(0, "Type:\t%s\n", svc.Spec.Type)
	if svc.Spec.IPFamilyPolicy != nil {
		w.write(0, "IP Family Policy:\t%s\n", *svc.Spec.IPFamilyPolicy)
	}
	if len(svc.Spec.IPFamilies) > 0 {
		var fams []string
		for _, f := range svc.Spec.IPFamilies {
			fams = append(fams, string(f))
		}
		w.write(0, "IP Families:\t%s\n", strings.Join(fams, ","))
	} else {
		w.write(0, "IP Families:\t%s\n", "<none>")
	}
	w.write(0, "IP:\t%s\n", svc.Spec.ClusterIP)
	if len(svc.Spec.ClusterIPs) > 0 {
		w.write(0, "IPs:\t%s\n", strings.Join(svc.Spec.ClusterIPs, ","))
	} else {
		w.write(0, "IPs:\t%s\n", "<none>")
	}
	if len(svc.Spec.ExternalIPs) > 0 {
		w.write(0, "External IPs:\t%v\n", strings.Join(svc.Spec.ExternalIPs, ","))
	}
	if svc.Spec.LoadBalancerIP != "" {
		w.write(0, "IP:\t%s\n", svc.Spec.LoadBalancerIP)
	}
	if svc.Spec.ExternalName != "" {
		w.write(0, "External Name:\t%s\n", svc.Spec.ExternalName)
	}
	if len(svc.Status.LoadBalancer.Ingress) > 0 {
		var list []string
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			s := ing.IP
			if s == "" {
				s = ing.Hostname
			}
			if ing.IPMode != nil {
				s += " (" + string(*ing.IPMode) + ")"
			}
			list = append(list, s)
		}
		w.write(0, "LoadBalancer Ingress:\t%s\n", strings.Join(list, ", "))
	}
	for _, p := range svc.Spec.Ports {
		name := p.Name
		if name == "" {
			name = "<unset>"
		}
		w.write(0, "Port:\t%s\t%d/%s\n", name, p.Port, p.Protocol)
		if p.TargetPort.Type == intstr.String {
			w.write(0, "TargetPort:\t%s/%s\n", p.TargetPort.StrVal, p.Protocol)
		} else {
			w.write(0, "TargetPort:\t%d/%s\n", p.TargetPort.IntVal, p.Protocol)
		}
		if p.NodePort != 0 {
			w.write(0, "NodePort:\t%s\t%d/%s\n", name, p.NodePort, p.Protocol)
		}
		if svc.Spec.Type != corev1.ServiceTypeExternalName {
			var items []discoveryv1.EndpointSlice
			if slices != nil {
				items = slices.Items
			}
			w.write(0, "Endpoints:\t%s\n", sliceEndpoints(items, p))
		}
	}
	w.write(0, "Session Affinity:\t%s\n", svc.Spec.SessionAffinity)
	if svc.Spec.ExternalTrafficPolicy != "" {
		w.write(0, "External Traffic Policy:\t%s\n", svc.Spec.ExternalTrafficPolicy)
	}
	if svc.Spec.HealthCheckNodePort != 0 {
		w.write(0, "HealthCheck NodePort:\t%d\n", svc.Spec.HealthCheckNodePort)
	}
	if len(svc.Spec.LoadBalancerSourceRanges) > 0 {
		w.write(0, "LoadBalancer Source Ranges:\t%v\n", strings.Join(svc.Spec.LoadBalancerSourceRanges, ","))
	}
	if svc.Spec.InternalTrafficPolicy != nil {
		w.write(0, "Internal Traffic Policy:\t%s\n", *svc.Spec.InternalTrafficPolicy)
	}
	d.printEvents(w, ref{kind: "Service", namespace: svc.Namespace, name: svc.Name, uid: string(svc.UID)})
	return nil
}

// maxEndpoints is how many endpoints a service port lists before "+ N more...".
const maxEndpoints = 3

// sliceEndpoints are the ready "ip:port" endpoints of a service port.
func sliceEndpoints(slices []discoveryv1.EndpointSlice, sp corev1.ServicePort) string {
	var list []string
	count := 0
	for _, s := range slices {
		for _, port := range s.Ports {
			name := ""
			if port.Name != nil {
				name = *port.Name
			}
			if name != sp.Name || port.Port == nil {
				continue
			}
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					continue
				}
				for _, addr := range ep.Addresses {
					if count < maxEndpoints {
						list = append(list, net.JoinHostPort(addr, strconv.Itoa(int(*port.Port))))
					}
					count++
				}
			}
		}
	}
	if len(list) == 0 {
		return "<none>"
	}
	s := strings.Join(list, ",")
	if count > maxEndpoints {
		s += fmt.Sprintf(" + %d more...", count-maxEndpoints)
	}
	return s
}

func describeNamespace(d *describer, u *unstructured.Unstructured, w *writer) error {
	ns, err := typed[corev1.Namespace](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", ns.Name)
	printLabels(w, 0, "Labels", ns.Labels)
	printAnnotations(w, 0, "Annotations", ns.Annotations)
	w.write(0, "Status:\t%s\n", ns.Status.Phase)
	if len(ns.Status.Conditions) > 0 {
		w.write(0, "Conditions:\n")
		w.write(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
		w.write(1, "----\t------\t------------------\t------\t-------\n")
		for _, c := range ns.Status.Conditions {
			w.write(1, "%v\t%v\t%s\t%v\t%v\n", c.Type, c.Status, formatTime(c.LastTransitionTime), c.Reason, c.Message)
		}
	}
	quotas, err := d.cs.CoreV1().ResourceQuotas(ns.Name).List(d.ctx, metav1.ListOptions{})
	if err == nil {
		if len(quotas.Items) == 0 {
			w.write(0, "\nNo resource quota.\n")
		} else {
			w.write(0, "\nResource Quotas\n")
			sort.Slice(quotas.Items, func(i, j int) bool { return quotas.Items[i].Name < quotas.Items[j].Name })
			for _, q := range quotas.Items {
				w.write(1, "Name:\t%s\n", q.Name)
				quotaScopes(w, 1, &q)
				w.write(1, "Resource\tUsed\tHard\n")
				w.write(1, "--------\t---\t---\n")
				quotaRows(w, 1, &q)
			}
		}
	}
	limits, err := d.cs.CoreV1().LimitRanges(ns.Name).List(d.ctx, metav1.ListOptions{})
	if err == nil {
		if len(limits.Items) == 0 {
			w.write(0, "\nNo LimitRange resource.\n")
		} else {
			w.write(0, "\nResource Limits\n")
			for _, lr := range limits.Items {
				limitRange(w, " ", &lr)
			}
		}
	}
	return nil
}

func quotaScopes(w *writer, level int, q *corev1.ResourceQuota) {
	if len(q.Spec.Scopes) > 0 {
		var scopes []string
		for _, s := range q.Spec.Scopes {
			scopes = append(scopes, string(s))
		}
		sort.Strings(scopes)
		w.write(level, "Scopes:\t%s\n", strings.Join(scopes, ", "))
	}
}

// quotaRows prints a quota's used and hard amounts, by resource name.
func quotaRows(w *writer, level int, q *corev1.ResourceQuota) {
	names := make([]string, 0, len(q.Status.Hard))
	for n := range q.Status.Hard {
		names = append(names, string(n))
	}
	sort.Strings(names)
	for _, n := range names {
		hard := q.Status.Hard[corev1.ResourceName(n)]
		used := q.Status.Used[corev1.ResourceName(n)]
		w.write(level, "%s\t%s\t%s\n", n, used.String(), hard.String())
	}
}

// limitRange prints a LimitRange's limits as a table, each line after indent.
func limitRange(w *writer, indent string, lr *corev1.LimitRange) {
	w.write(0, "%sType\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n", indent)
	w.write(0, "%s----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n", indent)
	for _, item := range lr.Spec.Limits {
		names := map[string]bool{}
		for _, rl := range []corev1.ResourceList{item.Min, item.Max, item.Default, item.DefaultRequest, item.MaxLimitRequestRatio} {
			for n := range rl {
				names[string(n)] = true
			}
		}
		for _, n := range sortedKeys(names) {
			rn := corev1.ResourceName(n)
			cell := func(rl corev1.ResourceList) string {
				if q, ok := rl[rn]; ok {
					return q.String()
				}
				return "-"
			}
			w.write(0, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s\n", indent, item.Type, n, cell(item.Min), cell(item.Max), cell(item.DefaultRequest), cell(item.Default), cell(item.MaxLimitRequestRatio))
		}
	}
}

func describeLimitRange(d *describer, u *unstructured.Unstructured, w *writer) error {
	lr, err := typed[corev1.LimitRange](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", lr.Name)
	w.write(0, "Namespace:\t%s\n", lr.Namespace)
	limitRange(w, "", lr)
	return nil
}

func describeResourceQuota(d *describer, u *unstructured.Unstructured, w *writer) error {
	q, err := typed[corev1.ResourceQuota](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", q.Name)
	w.write(0, "Namespace:\t%s\n", q.Namespace)
	quotaScopes(w, 0, q)
	w.write(0, "Resource\tUsed\tHard\n")
	w.write(0, "--------\t----\t----\n")
	quotaRows(w, 0, q)
	return nil
}

func describeConfigMap(d *describer, u *unstructured.Unstructured, w *writer) error {
	cm, err := typed[corev1.ConfigMap](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", cm.Name)
	w.write(0, "Namespace:\t%s\n", cm.Namespace)
	printLabels(w, 0, "Labels", cm.Labels)
	printAnnotations(w, 0, "Annotations", cm.Annotations)
	w.write(0, "\nData\n====\n")
	for _, k := range sortedKeys(cm.Data) {
		w.write(0, "%s:\n----\n", k)
		w.write(0, "%s\n", cm.Data[k])
		w.write(0, "\n")
	}
	w.write(0, "\nBinaryData\n====\n")
	for _, k := range sortedKeys(cm.BinaryData) {
		w.write(0, "%s: %d bytes\n", k, len(cm.BinaryData[k]))
	}
	w.write(0, "\n")
	d.printEvents(w, ref{kind: "ConfigMap", namespace: cm.Namespace, name: cm.Name, uid: string(cm.UID)})
	return nil
}

// describeSecret shows a secret's keys and sizes, never its values (but
// for a service account token's token, as kubectl shows it).
func describeSecret(d *describer, u *unstructured.Unstructured, w *writer) error {
	s, err := typed[corev1.Secret](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", s.Name)
	w.write(0, "Namespace:\t%s\n", s.Namespace)
	printLabels(w, 0, "Labels", s.Labels)
	printAnnotations(w, 0, "Annotations", s.Annotations)
	w.write(0, "\nType:\t%s\n", s.Type)
	w.write(0, "\nData\n====\n")
	for _, k := range sortedKeys(s.Data) {
		if k == corev1.ServiceAccountTokenKey && s.Type == corev1.SecretTypeServiceAccountToken {
			w.write(0, "%s:\t%s\n", k, string(s.Data[k]))
			continue
		}
		w.write(0, "%s:\t%d bytes\n", k, len(s.Data[k]))
	}
	return nil
}

func describeServiceAccount(d *describer, u *unstructured.Unstructured, w *writer) error {
	sa, err := typed[corev1.ServiceAccount](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", sa.Name)
	w.write(0, "Namespace:\t%s\n", sa.Namespace)
	printLabels(w, 0, "Labels", sa.Labels)
	printAnnotations(w, 0, "Annotations", sa.Annotations)
	var pull, mountable, tokens []string
	for _, s := range sa.ImagePullSecrets {
		pull = append(pull, s.Name)
	}
	for _, s := range sa.Secrets {
		mountable = append(mountable, s.Name)
	}
	secrets, err := d.cs.CoreV1().Secrets(sa.Namespace).List(d.ctx, metav1.ListOptions{})
	if err == nil {
		for _, s := range secrets.Items {
			if s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountNameKey] == sa.Name {
				tokens = append(tokens, s.Name)
			}
		}
	}
	sort.Strings(tokens)
	multiline(w, 0, "Image pull secrets", pull)
	multiline(w, 0, "Mountable secrets", mountable)
	multiline(w, 0, "Tokens", tokens)
	d.printEvents(w, ref{kind: "ServiceAccount", namespace: sa.Namespace, name: sa.Name, uid: string(sa.UID)})
	return nil
}

func describePVC(d *describer, u *unstructured.Unstructured, w *writer) error {
	pvc, err := typed[corev1.PersistentVolumeClaim](u)
	if err != nil {
		return err
	}
	sc := ""
	if pvc.Spec.StorageClassName != nil {
		sc = *pvc.Spec.StorageClassName
	}
	w.write(0, "Name:\t%s\n", pvc.Name)
	w.write(0, "Namespace:\t%s\n", pvc.Namespace)
	w.write(0, "StorageClass:\t%s\n", sc)
	if pvc.DeletionTimestamp != nil {
		w.write(0, "Status:\tTerminating (lasts %s)\n", duration.HumanDuration(time.Since(pvc.DeletionTimestamp.Time)))
	} else {
		w.write(0, "Status:\t%v\n", pvc.Status.Phase)
	}
	w.write(0, "Volume:\t%s\n", pvc.Spec.VolumeName)
	printLabels(w, 0, "Labels", pvc.Labels)
	printAnnotations(w, 0, "Annotations", pvc.Annotations)
	w.write(0, "Finalizers:\t%v\n", finalizers(pvc.Finalizers))
	capacity := ""
	if q, ok := pvc.Status.Capacity[corev1.ResourceStorage]; ok {
		capacity = q.String()
	}
	w.write(0, "Capacity:\t%s\n", capacity)
	w.write(0, "Access Modes:\t%s\n", accessModes(pvc.Status.AccessModes))
	w.write(0, "VolumeMode:\t%v\n", volumeMode(pvc.Spec.VolumeMode))
	if ds := pvc.Spec.DataSource; ds != nil {
		w.write(0, "DataSource:\n")
		if ds.APIGroup != nil {
			w.write(1, "APIGroup:\t%v\n", *ds.APIGroup)
		}
		w.write(1, "Kind:\t%v\n", ds.Kind)
		w.write(1, "Name:\t%v\n", ds.Name)
	}
	var usedBy []string
	if pods, err := d.cs.CoreV1().Pods(pvc.Namespace).List(d.ctx, metav1.ListOptions{}); err == nil {
		for _, p := range pods.Items {
			for _, v := range p.Spec.Volumes {
				if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name {
					usedBy = append(usedBy, p.Name)
					break
				}
			}
		}
	}
	multiline(w, 0, "Used By", usedBy)
	if len(pvc.Status.Conditions) > 0 {
		w.write(0, "Conditions:\n")
		w.write(1, "Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage\n")
		w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
		for _, c := range pvc.Status.Conditions {
			w.write(1, "%v \t%v \t%s \t%s \t%v \t%v\n", c.Type, c.Status, formatTime(c.LastProbeTime), formatTime(c.LastTransitionTime), c.Reason, c.Message)
		}
	}
	d.printEvents(w, ref{kind: "PersistentVolumeClaim", namespace: pvc.Namespace, name: pvc.Name, uid: string(pvc.UID)})
	return nil
}

// finalizers print as kubectl prints a string slice: "[a b]".
func finalizers(f []string) string {
	return "[" + strings.Join(f, " ") + "]"
}

func describePV(d *describer, u *unstructured.Unstructured, w *writer) error {
	pv, err := typed[corev1.PersistentVolume](u)
	if err != nil {
		return err
	}
	w.write(0, "Name:\t%s\n", pv.Name)
	printLabels(w, 0, "Labels", pv.Labels)
	printAnnotations(w, 0, "Annotations", pv.Annotations)
	w.write(0, "Finalizers:\t%v\n", finalizers(pv.Finalizers))
	w.write(0, "StorageClass:\t%s\n", pv.Spec.StorageClassName)
	if pv.DeletionTimestamp != nil {
		w.write(0, "Status:\tTerminating (lasts %s)\n", duration.HumanDuration(time.Since(pv.DeletionTimestamp.Time)))
	} else {
		w.write(0, "Status:\t%v\n", pv.Status.Phase)
	}
	claim := ""
	if pv.Spec.ClaimRef != nil {
		claim = pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name
	}
	w.write(0, "Claim:\t%s\n", claim)
	w.write(0, "Reclaim Policy:\t%v\n", pv.Spec.PersistentVolumeReclaimPolicy)
	w.write(0, "Access Modes:\t%s\n", accessModes(pv.Spec.AccessModes))
	w.write(0, "VolumeMode:\t%v\n", volumeMode(pv.Spec.VolumeMode))
	storage := pv.Spec.Capacity[corev1.ResourceStorage]
	w.write(0, "Capacity:\t%s\n", storage.String())
	nodeAffinity(w, pv.Spec.NodeAffinity)
	w.write(0, "Message:\t%s\n", pv.Status.Message)
	w.write(0, "Source:\n")
	pvSource(w, &pv.Spec.PersistentVolumeSource)
	d.printEvents(w, ref{kind: "PersistentVolume", name: pv.Name, uid: string(pv.UID)})
	return nil
}

func nodeAffinity(w *writer, na *corev1.VolumeNodeAffinity) {
	if na == nil || na.Required == nil {
		w.write(0, "Node Affinity:\t<none>\n")
		return
	}
	w.write(0, "Node Affinity:\n")
	w.write(1, "Required Terms:\n")
	if len(na.Required.NodeSelectorTerms) == 0 {
		w.write(2, "<none>\n")
		return
	}
	for i, term := range na.Required.NodeSelectorTerms {
		w.write(2, "Term %v:\t", i)
		var exprs []string
		for _, e := range term.MatchExpressions {
			exprs = append(exprs, fmt.Sprintf("%s %s [%s]", e.Key, strings.ToLower(string(e.Operator)), strings.Join(e.Values, ", ")))
		}
		if len(exprs) == 0 {
			w.write(0, "<none>\n")
			continue
		}
		w.write(0, "%s\n", exprs[0])
		for _, e := range exprs[1:] {
			w.write(2, "\t%s\n", e)
		}
	}
}
