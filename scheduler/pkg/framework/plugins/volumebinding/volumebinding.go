// Package volumebinding is the VolumeBinding plugin: it checks that a
// pod's PersistentVolumeClaims can be satisfied on a node and, for claims
// of a WaitForFirstConsumer StorageClass, binds them to volumes that suit
// the chosen node (or asks the class's provisioner for one there), as
// upstream's VolumeBinding does.
//
// Extension points, in cycle order:
//   - PreFilter resolves the claims: bound ones to their volumes; unbound
//     WaitForFirstConsumer ones are to be bound; an unbound claim of
//     immediate binding makes the pod wait.
//   - Filter, per node: each bound volume's node affinity must admit the
//     node; each claim to bind needs its own Available volume that matches
//     it (size, access modes, volume mode, class, selector) and whose node
//     affinity admits the node, or a class with a provisioner whose allowed
//     topologies admit the node.
//   - Reserve assumes the node's matches, so later cycles do not hand the
//     same volumes to other claims; Unreserve forgets them.
//   - PreBind writes the bindings through the API — the volume's claimRef,
//     then the claim's volumeName with pv.kubernetes.io/bind-completed; for
//     provisioning the claim's volume.kubernetes.io/selected-node — and
//     waits until the informers show every claim bound.
package volumebinding

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Name is the plugin's name.
const Name = "VolumeBinding"

// Reasons, as upstream.
const (
	ErrReasonBindConflict     = "node(s) didn't find available persistent volumes to bind"
	ErrReasonNodeConflict     = "node(s) had volume node affinity conflict"
	ErrReasonUnboundImmediate = "pod has unbound immediate PersistentVolumeClaims"
	ErrReasonPVNotExist       = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
)

// Annotations, as upstream's PersistentVolume controller and scheduler
// write them.
const (
	AnnBindCompleted     = "pv.kubernetes.io/bind-completed"
	AnnBoundByController = "pv.kubernetes.io/bound-by-controller"
	AnnSelectedNode      = "volume.kubernetes.io/selected-node"
)

// NotSupportedProvisioner is the provisioner of classes whose volumes are
// only made by hand (local volumes): their claims cannot be provisioned.
const NotSupportedProvisioner = "kubernetes.io/no-provisioner"

// DefaultBindTimeout is how long PreBind waits for the bindings to be
// seen (upstream's bindTimeoutSeconds default).
const DefaultBindTimeout = 600 * time.Second

const stateKey framework.StateKey = "PreFilter" + Name

// binding is a claim to bind to a volume (pv set) or to provision on the
// chosen node (pv nil).
type binding struct {
	pvc *v1.PersistentVolumeClaim
	pv  *v1.PersistentVolume
}

type preFilterState struct {
	// bound are the PVs of the pod's bound claims.
	bound []*v1.PersistentVolume
	// toBind are the unbound claims of WaitForFirstConsumer classes.
	toBind []*v1.PersistentVolumeClaim
	// candidates are, per class of a claim to bind, the volumes that may
	// be bound: Available, unclaimed or pre-bound to one of toBind.
	candidates map[string][]*v1.PersistentVolume
	// classes of the claims to bind.
	classes map[string]*storagev1.StorageClass

	mu sync.Mutex
	// byNode are the bindings Filter found for each feasible node.
	byNode map[string][]binding
	// chosen are the bindings Reserve took, for PreBind.
	chosen []binding
}

func (s *preFilterState) Clone() framework.StateData { return s }

// VolumeBinding is the plugin.
type VolumeBinding struct {
	client      kubernetes.Interface
	pvcs        corelisters.PersistentVolumeClaimLister
	pvs         corelisters.PersistentVolumeLister
	classes     storagelisters.StorageClassLister
	bindTimeout time.Duration
	// poll is the interval PreBind checks the informers at.
	poll time.Duration

	mu sync.Mutex
	// assumed maps volumes reserved by pods not yet bound to the claim
	// ("ns/name") they were reserved for.
	assumed map[string]string
}

var (
	_ framework.PreFilterPlugin   = (*VolumeBinding)(nil)
	_ framework.FilterPlugin      = (*VolumeBinding)(nil)
	_ framework.ReservePlugin     = (*VolumeBinding)(nil)
	_ framework.PreBindPlugin     = (*VolumeBinding)(nil)
	_ framework.EnqueueExtensions = (*VolumeBinding)(nil)
)

// Name implements framework.Plugin.
func (*VolumeBinding) Name() string { return Name }

// EventsToRegister implements framework.EnqueueExtensions.
func (*VolumeBinding) EventsToRegister() []framework.ClusterEvent {
	return []framework.ClusterEvent{
		{Resource: framework.PersistentVolumeClaim, ActionType: framework.Add | framework.Update},
		{Resource: framework.PersistentVolume, ActionType: framework.Add | framework.Update},
		{Resource: framework.StorageClass, ActionType: framework.Add},
		{Resource: framework.Node, ActionType: framework.Add | framework.UpdateNodeLabel},
	}
}

func claimKey(pvc *v1.PersistentVolumeClaim) string { return pvc.Namespace + "/" + pvc.Name }

// PreFilter resolves the pod's claims; pods without claims skip the
// filter.
func (b *VolumeBinding) PreFilter(_ context.Context, state *framework.CycleState, pod *v1.Pod, _ []*framework.NodeInfo) *framework.Status {
	s := &preFilterState{byNode: map[string][]binding{}}
	any := false
	for _, vol := range pod.Spec.Volumes {
		var claim string
		switch {
		case vol.PersistentVolumeClaim != nil:
			claim = vol.PersistentVolumeClaim.ClaimName
		case vol.Ephemeral != nil:
			claim = pod.Name + "-" + vol.Name
		default:
			continue
		}
		any = true
		pvc, err := b.pvcs.PersistentVolumeClaims(pod.Namespace).Get(claim)
		if apierrors.IsNotFound(err) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q not found", claim))
		}
		if err != nil {
			return framework.AsStatus(err)
		}
		if pvc.DeletionTimestamp != nil {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q is being deleted", claim))
		}
		if vol.Ephemeral != nil && !metav1.IsControlledBy(pvc, pod) {
			// A claim of the same name made by someone else: not this
			// pod's ephemeral volume.
			return framework.NewStatus(framework.UnschedulableAndUnresolvable,
				fmt.Sprintf("PVC %s/%s was not created for pod %s/%s (pod is not owner)", pvc.Namespace, pvc.Name, pod.Namespace, pod.Name))
		}
		if pvc.Spec.VolumeName == "" {
			sc := b.delayedClass(pvc)
			if sc == nil {
				return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonUnboundImmediate)
			}
			if s.classes == nil {
				s.classes = map[string]*storagev1.StorageClass{}
			}
			s.classes[sc.Name] = sc
			s.toBind = append(s.toBind, pvc)
			continue
		}
		pv, err := b.pvs.Get(pvc.Spec.VolumeName)
		if apierrors.IsNotFound(err) {
			return framework.NewStatus(framework.UnschedulableAndUnresolvable, ErrReasonPVNotExist)
		}
		if err != nil {
			return framework.AsStatus(err)
		}
		s.bound = append(s.bound, pv)
	}
	if !any {
		return framework.NewStatus(framework.Skip)
	}
	if len(s.toBind) > 0 {
		if err := b.collectCandidates(s); err != nil {
			return framework.AsStatus(err)
		}
	}
	state.Write(stateKey, s)
	return nil
}

// delayedClass returns the claim's class if its binding waits for the
// first consumer, else nil.
func (b *VolumeBinding) delayedClass(pvc *v1.PersistentVolumeClaim) *storagev1.StorageClass {
	name := className(pvc)
	if name == "" {
		return nil
	}
	sc, err := b.classes.Get(name)
	if err != nil || sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		return nil
	}
	return sc
}

func className(pvc *v1.PersistentVolumeClaim) string {
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return ""
}

// collectCandidates lists once per cycle the volumes the claims to bind may
// get, smallest first, leaving out those assumed for other claims.
func (b *VolumeBinding) collectCandidates(s *preFilterState) error {
	all, err := b.pvs.List(labels.Everything())
	if err != nil {
		return err
	}
	mine := map[string]bool{}
	for _, pvc := range s.toBind {
		mine[claimKey(pvc)] = true
	}
	b.mu.Lock()
	assumed := make(map[string]string, len(b.assumed))
	for k, v := range b.assumed {
		assumed[k] = v
	}
	b.mu.Unlock()
	s.candidates = map[string][]*v1.PersistentVolume{}
	for _, pv := range all {
		if _, ok := s.classes[pv.Spec.StorageClassName]; !ok || pv.DeletionTimestamp != nil {
			continue
		}
		if owner, ok := assumed[pv.Name]; ok && !mine[owner] {
			continue
		}
		if ref := pv.Spec.ClaimRef; ref != nil && !mine[ref.Namespace+"/"+ref.Name] {
			continue
		}
		s.candidates[pv.Spec.StorageClassName] = append(s.candidates[pv.Spec.StorageClassName], pv)
	}
	for _, list := range s.candidates {
		slices.SortStableFunc(list, func(a, b *v1.PersistentVolume) int {
			qa, qb := a.Spec.Capacity[v1.ResourceStorage], b.Spec.Capacity[v1.ResourceStorage]
			if c := qa.Cmp(qb); c != 0 {
				return c
			}
			switch {
			case a.Name < b.Name:
				return -1
			case a.Name > b.Name:
				return 1
			}
			return 0
		})
	}
	return nil
}

// PreFilterExtensions implements framework.PreFilterPlugin.
func (*VolumeBinding) PreFilterExtensions() framework.PreFilterExtensions { return nil }

func readState(state *framework.CycleState) (*preFilterState, error) {
	d, err := state.Read(stateKey)
	if err != nil {
		return nil, err
	}
	return d.(*preFilterState), nil
}

// Filter implements framework.FilterPlugin.
func (b *VolumeBinding) Filter(_ context.Context, state *framework.CycleState, pod *v1.Pod, ni *framework.NodeInfo) *framework.Status {
	s, err := readState(state)
	if err != nil {
		return framework.AsStatus(err)
	}
	node := ni.Node()
	var reasons []string
	for _, pv := range s.bound {
		if !volumeFitsNode(pv, node) {
			reasons = append(reasons, ErrReasonNodeConflict)
			break
		}
	}
	if len(s.toBind) > 0 {
		bindings, ok := s.findBindings(node)
		if !ok {
			reasons = append(reasons, ErrReasonBindConflict)
		} else if len(reasons) == 0 {
			s.mu.Lock()
			s.byNode[node.Name] = bindings
			s.mu.Unlock()
		}
	}
	if len(reasons) > 0 {
		return framework.NewStatus(framework.UnschedulableAndUnresolvable, reasons...)
	}
	return nil
}

// findBindings picks, for each claim to bind, a volume on node (a
// different one per claim) or provisioning there; false if some claim can
// have neither.
func (s *preFilterState) findBindings(node *v1.Node) ([]binding, bool) {
	var out []binding
	taken := map[string]bool{}
	for _, pvc := range s.toBind {
		pv := findVolume(pvc, s.candidates[className(pvc)], node, taken)
		if pv != nil {
			taken[pv.Name] = true
			out = append(out, binding{pvc: pvc, pv: pv})
			continue
		}
		sc := s.classes[className(pvc)]
		if sc.Provisioner == "" || sc.Provisioner == NotSupportedProvisioner || !topologyAllows(sc.AllowedTopologies, node) {
			return nil, false
		}
		out = append(out, binding{pvc: pvc})
	}
	return out, true
}

// findVolume returns the volume pre-bound to pvc if it admits node (nil if
// it does not), else the smallest Available volume that satisfies pvc and
// admits node and is not taken.
func findVolume(pvc *v1.PersistentVolumeClaim, candidates []*v1.PersistentVolume, node *v1.Node, taken map[string]bool) *v1.PersistentVolume {
	var sel labels.Selector
	if pvc.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(pvc.Spec.Selector)
		if err != nil {
			return nil
		}
		sel = s
	}
	request := pvc.Spec.Resources.Requests[v1.ResourceStorage]
	for _, pv := range candidates {
		if ref := pv.Spec.ClaimRef; ref != nil && !taken[pv.Name] &&
			ref.Namespace == pvc.Namespace && ref.Name == pvc.Name && (ref.UID == "" || ref.UID == pvc.UID) {
			// Pre-bound (by the user, or by an earlier attempt's PreBind):
			// this volume or none.
			if volumeFitsNode(pv, node) && satisfies(pv, pvc, nil, request) {
				return pv
			}
			return nil
		}
	}
	for _, pv := range candidates {
		if taken[pv.Name] || pv.Spec.ClaimRef != nil || pv.Status.Phase != v1.VolumeAvailable {
			continue
		}
		if satisfies(pv, pvc, sel, request) && volumeFitsNode(pv, node) {
			return pv
		}
	}
	return nil
}

// satisfies reports whether pv offers what pvc asks: at least its size, its
// volume mode, every access mode it wants and labels its selector (if any)
// matches. The class was matched by the caller.
func satisfies(pv *v1.PersistentVolume, pvc *v1.PersistentVolumeClaim, sel labels.Selector, request resource.Quantity) bool {
	size := pv.Spec.Capacity[v1.ResourceStorage]
	if size.Cmp(request) < 0 {
		return false
	}
	if volumeMode(pv.Spec.VolumeMode) != volumeMode(pvc.Spec.VolumeMode) {
		return false
	}
	for _, want := range pvc.Spec.AccessModes {
		if !slices.Contains(pv.Spec.AccessModes, want) {
			return false
		}
	}
	return sel == nil || sel.Matches(labels.Set(pv.Labels))
}

func volumeMode(m *v1.PersistentVolumeMode) v1.PersistentVolumeMode {
	if m == nil {
		return v1.PersistentVolumeFilesystem
	}
	return *m
}

// volumeFitsNode reports whether the volume's required node affinity (if
// any) admits node.
func volumeFitsNode(pv *v1.PersistentVolume, node *v1.Node) bool {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return true
	}
	return framework.NodeSelectorMatches(pv.Spec.NodeAffinity.Required, node)
}

// topologyAllows reports whether a class's allowedTopologies (any term; all
// of a term's label expressions, each "label in values") admit node; no
// terms admit every node.
func topologyAllows(terms []v1.TopologySelectorTerm, node *v1.Node) bool {
	if len(terms) == 0 {
		return true
	}
	for _, t := range terms {
		ok := true
		for _, e := range t.MatchLabelExpressions {
			v, has := node.Labels[e.Key]
			if !has || !slices.Contains(e.Values, v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Reserve implements framework.ReservePlugin: it assumes the volumes Filter
// found on nodeName for the pod's claims.
func (b *VolumeBinding) Reserve(_ context.Context, state *framework.CycleState, pod *v1.Pod, nodeName string) *framework.Status {
	s, err := readState(state)
	if err != nil {
		// PreFilter skipped: no claims.
		return nil
	}
	if len(s.toBind) == 0 {
		return nil
	}
	s.mu.Lock()
	bindings, ok := s.byNode[nodeName]
	s.chosen = bindings
	s.mu.Unlock()
	if !ok {
		return framework.AsStatus(fmt.Errorf("volume binding: no bindings were found for node %s", nodeName))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, bd := range bindings {
		if bd.pv == nil {
			continue
		}
		if owner, ok := b.assumed[bd.pv.Name]; ok && owner != claimKey(bd.pvc) {
			return framework.NewStatus(framework.Unschedulable, ErrReasonBindConflict)
		}
	}
	for _, bd := range bindings {
		if bd.pv != nil {
			if b.assumed == nil {
				b.assumed = map[string]string{}
			}
			b.assumed[bd.pv.Name] = claimKey(bd.pvc)
		}
	}
	return nil
}

// Unreserve implements framework.ReservePlugin: it forgets what Reserve
// assumed. Bindings PreBind already wrote stay; the claims then refer to
// their volumes and the next attempt uses them.
func (b *VolumeBinding) Unreserve(_ context.Context, state *framework.CycleState, _ *v1.Pod, _ string) {
	s, err := readState(state)
	if err != nil {
		return
	}
	s.mu.Lock()
	chosen := s.chosen
	s.mu.Unlock()
	b.forget(chosen)
}

func (b *VolumeBinding) forget(bindings []binding) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, bd := range bindings {
		if bd.pv != nil && b.assumed[bd.pv.Name] == claimKey(bd.pvc) {
			delete(b.assumed, bd.pv.Name)
		}
	}
}
