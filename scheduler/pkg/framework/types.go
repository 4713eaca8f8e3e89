package framework

import (
	"fmt"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
)

// AffinityTerm is a parsed pod (anti-)affinity term.
type AffinityTerm struct {
	// Namespaces the matched pods must be in; with NamespaceSelector nil and
	// Namespaces empty the term matches nothing (callers fill them in).
	Namespaces        sets.Set[string]
	Selector          labels.Selector
	TopologyKey       string
	NamespaceSelector labels.Selector
}

// Matches reports whether pod matches the term, given the labels of the
// pod's namespace (needed only for NamespaceSelector).
func (t *AffinityTerm) Matches(pod *v1.Pod, nsLabels labels.Set) bool {
	if t.Namespaces.Has(pod.Namespace) || (t.NamespaceSelector != nil && t.NamespaceSelector.Matches(nsLabels)) {
		return t.Selector.Matches(labels.Set(pod.Labels))
	}
	return false
}

// WeightedAffinityTerm is a preferred term with its weight.
type WeightedAffinityTerm struct {
	AffinityTerm
	Weight int32
}

// PodInfo is a pod with what the plugins derive from it once: parsed
// affinity terms and resource requests.
type PodInfo struct {
	Pod                        *v1.Pod
	RequiredAffinityTerms      []AffinityTerm
	RequiredAntiAffinityTerms  []AffinityTerm
	PreferredAffinityTerms     []WeightedAffinityTerm
	PreferredAntiAffinityTerms []WeightedAffinityTerm
	// Requests and NonZeroRequests are PodRequests and PodNonZeroRequests.
	Requests        *Resource
	NonZeroRequests *Resource
	// ParseError is set when an affinity selector did not parse.
	ParseError error
}

// NewPodInfo parses pod.
func NewPodInfo(pod *v1.Pod) *PodInfo {
	pi := &PodInfo{}
	pi.Update(pod)
	return pi
}

// Update re-parses pi for pod.
func (pi *PodInfo) Update(pod *v1.Pod) {
	*pi = PodInfo{Pod: pod, Requests: PodRequests(pod), NonZeroRequests: PodNonZeroRequests(pod)}
	aff := pod.Spec.Affinity
	if aff == nil {
		return
	}
	var errs []error
	if a := aff.PodAffinity; a != nil {
		pi.RequiredAffinityTerms = parseTerms(pod, a.RequiredDuringSchedulingIgnoredDuringExecution, &errs)
		pi.PreferredAffinityTerms = parseWeighted(pod, a.PreferredDuringSchedulingIgnoredDuringExecution, &errs)
	}
	if a := aff.PodAntiAffinity; a != nil {
		pi.RequiredAntiAffinityTerms = parseTerms(pod, a.RequiredDuringSchedulingIgnoredDuringExecution, &errs)
		pi.PreferredAntiAffinityTerms = parseWeighted(pod, a.PreferredDuringSchedulingIgnoredDuringExecution, &errs)
	}
	if len(errs) > 0 {
		pi.ParseError = errs[0]
	}
}

func parseTerms(pod *v1.Pod, terms []v1.PodAffinityTerm, errs *[]error) []AffinityTerm {
	var out []AffinityTerm
	for i := range terms {
		t, err := NewAffinityTerm(pod, &terms[i])
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		out = append(out, t)
	}
	return out
}

func parseWeighted(pod *v1.Pod, terms []v1.WeightedPodAffinityTerm, errs *[]error) []WeightedAffinityTerm {
	var out []WeightedAffinityTerm
	for i := range terms {
		t, err := NewAffinityTerm(pod, &terms[i].PodAffinityTerm)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		out = append(out, WeightedAffinityTerm{AffinityTerm: t, Weight: terms[i].Weight})
	}
	return out
}

// NewAffinityTerm parses a term of pod: an empty namespace list with no
// namespace selector means the pod's own namespace; matchLabelKeys and
// mismatchLabelKeys are folded into the selector with the pod's values.
func NewAffinityTerm(pod *v1.Pod, term *v1.PodAffinityTerm) (AffinityTerm, error) {
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return AffinityTerm{}, fmt.Errorf("pod %s/%s: affinity label selector: %w", pod.Namespace, pod.Name, err)
	}
	if term.LabelSelector == nil {
		sel = labels.Nothing()
	}
	for _, k := range term.MatchLabelKeys {
		if v, ok := pod.Labels[k]; ok {
			if r, err := labels.NewRequirement(k, "in", []string{v}); err == nil {
				sel = sel.Add(*r)
			}
		}
	}
	for _, k := range term.MismatchLabelKeys {
		if v, ok := pod.Labels[k]; ok {
			if r, err := labels.NewRequirement(k, "notin", []string{v}); err == nil {
				sel = sel.Add(*r)
			}
		}
	}
	t := AffinityTerm{Namespaces: sets.New(term.Namespaces...), Selector: sel, TopologyKey: term.TopologyKey}
	if term.NamespaceSelector != nil {
		nsSel, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
		if err != nil {
			return AffinityTerm{}, fmt.Errorf("pod %s/%s: affinity namespace selector: %w", pod.Namespace, pod.Name, err)
		}
		t.NamespaceSelector = nsSel
	} else if len(term.Namespaces) == 0 {
		t.Namespaces.Insert(pod.Namespace)
	}
	return t, nil
}

// ProtocolPort is a host port with its protocol.
type ProtocolPort struct {
	Protocol string
	Port     int32
}

// HostPortInfo maps host IPs to the protocol ports used on them.
type HostPortInfo map[string]sets.Set[ProtocolPort]

const wildcardIP = "0.0.0.0"

func normalizePort(ip, protocol string) (string, string) {
	if ip == "" {
		ip = wildcardIP
	}
	if protocol == "" {
		protocol = string(v1.ProtocolTCP)
	}
	return ip, protocol
}

// Add records a used port.
func (h HostPortInfo) Add(ip, protocol string, port int32) {
	if port <= 0 {
		return
	}
	ip, protocol = normalizePort(ip, protocol)
	if h[ip] == nil {
		h[ip] = sets.New[ProtocolPort]()
	}
	h[ip].Insert(ProtocolPort{protocol, port})
}

// Remove forgets a used port.
func (h HostPortInfo) Remove(ip, protocol string, port int32) {
	if port <= 0 {
		return
	}
	ip, protocol = normalizePort(ip, protocol)
	if s := h[ip]; s != nil {
		s.Delete(ProtocolPort{protocol, port})
		if s.Len() == 0 {
			delete(h, ip)
		}
	}
}

// CheckConflict reports whether ip:protocol/port collides with a used port:
// the wildcard address 0.0.0.0 collides with every address.
func (h HostPortInfo) CheckConflict(ip, protocol string, port int32) bool {
	if port <= 0 {
		return false
	}
	ip, protocol = normalizePort(ip, protocol)
	pp := ProtocolPort{protocol, port}
	if ip == wildcardIP {
		for _, s := range h {
			if s.Has(pp) {
				return true
			}
		}
		return false
	}
	return h[ip].Has(pp) || h[wildcardIP].Has(pp)
}

// ImageStateSummary is what the cache knows of an image on a node.
type ImageStateSummary struct {
	Size int64
	// NumNodes is how many nodes have the image.
	NumNodes int
}

var generation atomic.Int64

// NextGeneration returns a process-wide increasing number; every change to
// a NodeInfo takes a new one, so snapshots copy only what changed.
func NextGeneration() int64 { return generation.Add(1) }

// NodeInfo is a node with the pods counted on it (bound and assumed) and
// the aggregates the filters need.
type NodeInfo struct {
	node                         *v1.Node
	Pods                         []*PodInfo
	PodsWithAffinity             []*PodInfo
	PodsWithRequiredAntiAffinity []*PodInfo
	UsedPorts                    HostPortInfo
	// Requested is the sum of the pods' requests; NonZeroRequested the sum
	// with the scorers' defaults for zero cpu/memory.
	Requested        *Resource
	NonZeroRequested *Resource
	Allocatable      *Resource
	ImageStates      map[string]*ImageStateSummary
	// PVCRefCounts counts pods using each PVC, keyed namespace/name.
	PVCRefCounts map[string]int
	Generation   int64
}

// NewNodeInfo returns a NodeInfo holding pods (no node yet).
func NewNodeInfo(pods ...*v1.Pod) *NodeInfo {
	ni := &NodeInfo{
		UsedPorts:        HostPortInfo{},
		Requested:        &Resource{},
		NonZeroRequested: &Resource{},
		Allocatable:      &Resource{},
		ImageStates:      map[string]*ImageStateSummary{},
		PVCRefCounts:     map[string]int{},
		Generation:       NextGeneration(),
	}
	for _, p := range pods {
		ni.AddPod(p)
	}
	return ni
}

// Node returns the node, nil if only its pods are known so far.
func (n *NodeInfo) Node() *v1.Node {
	if n == nil {
		return nil
	}
	return n.node
}

// SetNode sets the node and its allocatable.
func (n *NodeInfo) SetNode(node *v1.Node) {
	n.node = node
	n.Allocatable = NewResource(node.Status.Allocatable)
	n.Generation = NextGeneration()
}

// RemoveNode forgets the node, keeping its pods.
func (n *NodeInfo) RemoveNode() {
	n.node = nil
	n.Generation = NextGeneration()
}

// AddPod counts pod on the node.
func (n *NodeInfo) AddPod(pod *v1.Pod) { n.AddPodInfo(NewPodInfo(pod)) }

// AddPodInfo counts pi on the node.
func (n *NodeInfo) AddPodInfo(pi *PodInfo) {
	n.Pods = append(n.Pods, pi)
	if len(pi.RequiredAffinityTerms)+len(pi.RequiredAntiAffinityTerms)+len(pi.PreferredAffinityTerms)+len(pi.PreferredAntiAffinityTerms) > 0 {
		n.PodsWithAffinity = append(n.PodsWithAffinity, pi)
	}
	if len(pi.RequiredAntiAffinityTerms) > 0 {
		n.PodsWithRequiredAntiAffinity = append(n.PodsWithRequiredAntiAffinity, pi)
	}
	n.update(pi, 1)
}

// RemovePod uncounts the pod with pod's UID; it reports whether it was there.
func (n *NodeInfo) RemovePod(pod *v1.Pod) bool {
	n.PodsWithAffinity = removeFrom(n.PodsWithAffinity, pod)
	n.PodsWithRequiredAntiAffinity = removeFrom(n.PodsWithRequiredAntiAffinity, pod)
	for i, pi := range n.Pods {
		if pi.Pod.UID == pod.UID {
			n.Pods[i] = n.Pods[len(n.Pods)-1]
			n.Pods = n.Pods[:len(n.Pods)-1]
			n.update(pi, -1)
			return true
		}
	}
	return false
}

func removeFrom(list []*PodInfo, pod *v1.Pod) []*PodInfo {
	for i, pi := range list {
		if pi.Pod.UID == pod.UID {
			list[i] = list[len(list)-1]
			return list[:len(list)-1]
		}
	}
	return list
}

func (n *NodeInfo) update(pi *PodInfo, sign int64) {
	if sign > 0 {
		n.Requested.AddResource(pi.Requests)
		n.NonZeroRequested.AddResource(pi.NonZeroRequests)
	} else {
		n.Requested.SubResource(pi.Requests)
		n.NonZeroRequested.SubResource(pi.NonZeroRequests)
	}
	pod := pi.Pod
	for _, cs := range [][]v1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			for _, p := range cs[i].Ports {
				if sign > 0 {
					n.UsedPorts.Add(p.HostIP, string(p.Protocol), p.HostPort)
				} else {
					n.UsedPorts.Remove(p.HostIP, string(p.Protocol), p.HostPort)
				}
			}
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		key := pod.Namespace + "/" + v.PersistentVolumeClaim.ClaimName
		n.PVCRefCounts[key] += int(sign)
		if n.PVCRefCounts[key] <= 0 {
			delete(n.PVCRefCounts, key)
		}
	}
	n.Generation = NextGeneration()
}

// Snapshot returns a copy that later changes to n do not affect; pods and
// their PodInfos are shared (they are never mutated in place).
func (n *NodeInfo) Snapshot() *NodeInfo {
	c := &NodeInfo{
		node:             n.node,
		Pods:             append([]*PodInfo(nil), n.Pods...),
		Requested:        n.Requested.Clone(),
		NonZeroRequested: n.NonZeroRequested.Clone(),
		Allocatable:      n.Allocatable.Clone(),
		UsedPorts:        make(HostPortInfo, len(n.UsedPorts)),
		ImageStates:      n.ImageStates,
		PVCRefCounts:     make(map[string]int, len(n.PVCRefCounts)),
		Generation:       n.Generation,
	}
	if len(n.PodsWithAffinity) > 0 {
		c.PodsWithAffinity = append([]*PodInfo(nil), n.PodsWithAffinity...)
	}
	if len(n.PodsWithRequiredAntiAffinity) > 0 {
		c.PodsWithRequiredAntiAffinity = append([]*PodInfo(nil), n.PodsWithRequiredAntiAffinity...)
	}
	for ip, s := range n.UsedPorts {
		c.UsedPorts[ip] = s.Clone()
	}
	for k, v := range n.PVCRefCounts {
		c.PVCRefCounts[k] = v
	}
	return c
}

// NodeName returns the node's name, "" when unknown.
func (n *NodeInfo) NodeName() string {
	if n == nil || n.node == nil {
		return ""
	}
	return n.node.Name
}
