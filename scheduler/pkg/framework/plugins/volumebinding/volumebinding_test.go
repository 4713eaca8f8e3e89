package volumebinding

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"navarch.dev/scheduler/pkg/framework"
)

// claim options and constructor.
type claimOpt func(*v1.PersistentVolumeClaim)

func size(s string) claimOpt {
	return func(c *v1.PersistentVolumeClaim) {
		c.Spec.Resources.Requests = v1.ResourceList{v1.ResourceStorage: resource.MustParse(s)}
	}
}
func modes(m ...v1.PersistentVolumeAccessMode) claimOpt {
	return func(c *v1.PersistentVolumeClaim) { c.Spec.AccessModes = m }
}
func selecting(kv ...string) claimOpt {
	return func(c *v1.PersistentVolumeClaim) {
		c.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			c.Spec.Selector.MatchLabels[kv[i]] = kv[i+1]
		}
	}
}
func block(c *v1.PersistentVolumeClaim) {
	m := v1.PersistentVolumeBlock
	c.Spec.VolumeMode = &m
}

func claim(name, volume, class string, opts ...claimOpt) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)}, Spec: v1.PersistentVolumeClaimSpec{VolumeName: volume}}
	if class != "" {
		c.Spec.StorageClassName = &class
	}
	size("1Gi")(c)
	modes(v1.ReadWriteOnce)(c)
	for _, o := range opts {
		o(c)
	}
	return c
}

// volume options and constructor.
type volumeOpt func(*v1.PersistentVolume)

func inZone(zone string) volumeOpt {
	return func(pv *v1.PersistentVolume) {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{zone}}}}}}}
	}
}
func class(c string) volumeOpt { return func(pv *v1.PersistentVolume) { pv.Spec.StorageClassName = c } }
func capacity(s string) volumeOpt {
	return func(pv *v1.PersistentVolume) { pv.Spec.Capacity[v1.ResourceStorage] = resource.MustParse(s) }
}
func phase(p v1.PersistentVolumePhase) volumeOpt {
	return func(pv *v1.PersistentVolume) { pv.Status.Phase = p }
}
func pvModes(m ...v1.PersistentVolumeAccessMode) volumeOpt {
	return func(pv *v1.PersistentVolume) { pv.Spec.AccessModes = m }
}
func pvLabels(kv ...string) volumeOpt {
	return func(pv *v1.PersistentVolume) {
		pv.Labels = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			pv.Labels[kv[i]] = kv[i+1]
		}
	}
}
func claimedBy(name string, uid types.UID) volumeOpt {
	return func(pv *v1.PersistentVolume) {
		pv.Spec.ClaimRef = &v1.ObjectReference{Namespace: "ns", Name: name, UID: uid}
	}
}

// volume returns an Available 1Gi ReadWriteOnce volume of class "local".
func volume(name string, opts ...volumeOpt) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PersistentVolumeSpec{
		StorageClassName: "local", AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
		Capacity: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")},
	}, Status: v1.PersistentVolumeStatus{Phase: v1.VolumeAvailable}}
	for _, o := range opts {
		o(pv)
	}
	return pv
}

func ownedBy(pod string) claimOpt {
	return func(c *v1.PersistentVolumeClaim) {
		yes := true
		c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod, UID: types.UID("uid-pod-" + pod), Controller: &yes}}
	}
}

// ephemeralPod returns pod "p" with a generic ephemeral volume.
func ephemeralPod(volume string) *v1.Pod {
	p := makePod()
	p.UID = "uid-pod-p"
	p.Spec.Volumes = []v1.Volume{{Name: volume, VolumeSource: v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}}}}
	return p
}

func makePod(claims ...string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	for _, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: c, VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return p
}

func storageClass(name, provisioner string, wffc bool, topology ...string) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner}
	if wffc {
		m := storagev1.VolumeBindingWaitForFirstConsumer
		sc.VolumeBindingMode = &m
	}
	if len(topology) > 0 {
		sc.AllowedTopologies = []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{{Key: "zone", Values: topology}}}}
	}
	return sc
}

func zoneNode(zone string) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-" + zone, Labels: map[string]string{"zone": zone}}})
	return ni
}

var defaultClasses = []*storagev1.StorageClass{
	storageClass("local", NotSupportedProvisioner, true),
	storageClass("fast", "example.com/fast", true, "a"),
	storageClass("immediate", "example.com/fast", false),
}

// newPlugin returns a plugin over informer stores holding objs (no API
// server behind them).
func newPlugin(t *testing.T, objs ...runtime.Object) *VolumeBinding {
	t.Helper()
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *v1.PersistentVolumeClaim:
			err = factory.Core().V1().PersistentVolumeClaims().Informer().GetStore().Add(o)
		case *v1.PersistentVolume:
			err = factory.Core().V1().PersistentVolumes().Informer().GetStore().Add(o)
		case *storagev1.StorageClass:
			err = factory.Storage().V1().StorageClasses().Informer().GetStore().Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return &VolumeBinding{pvcs: factory.Core().V1().PersistentVolumeClaims().Lister(), pvs: factory.Core().V1().PersistentVolumes().Lister(),
		classes: factory.Storage().V1().StorageClasses().Lister(), bindTimeout: time.Minute, poll: 10 * time.Millisecond}
}

func TestVolumeBinding(t *testing.T) {
	tests := []struct {
		name    string
		claims  []*v1.PersistentVolumeClaim
		volumes []*v1.PersistentVolume
		pod     *v1.Pod
		node    string // zone of the node; "a" by default
		// assumed maps volumes to the claims other pods reserved them for.
		assumed map[string]string

		preFilter    framework.Code
		preFilterMsg string
		filter       framework.Code
		filterMsg    string
		// bindings Filter found on the node: "claim=volume", "claim=provision".
		bindings []string
	}{
		{name: "no claims skips", pod: makePod(), preFilter: framework.Skip},
		{name: "missing claim", pod: makePod("nope"), preFilter: framework.UnschedulableAndUnresolvable, preFilterMsg: `persistentvolumeclaim "nope" not found`},
		{name: "unbound claim without class", claims: []*v1.PersistentVolumeClaim{claim("c", "", "")}, pod: makePod("c"),
			preFilter: framework.UnschedulableAndUnresolvable, preFilterMsg: ErrReasonUnboundImmediate},
		{name: "unbound claim of an immediate class", claims: []*v1.PersistentVolumeClaim{claim("c", "", "immediate")}, pod: makePod("c"),
			preFilter: framework.UnschedulableAndUnresolvable, preFilterMsg: ErrReasonUnboundImmediate},
		{name: "unbound claim of an unknown class", claims: []*v1.PersistentVolumeClaim{claim("c", "", "nosuch")}, pod: makePod("c"),
			preFilter: framework.UnschedulableAndUnresolvable, preFilterMsg: ErrReasonUnboundImmediate},
		{name: "bound, pv without affinity", claims: []*v1.PersistentVolumeClaim{claim("c", "pv", "")}, volumes: []*v1.PersistentVolume{volume("pv", claimedBy("c", "uid-c"))}, pod: makePod("c")},
		{name: "bound, pv in node's zone", claims: []*v1.PersistentVolumeClaim{claim("c", "pv", "")}, volumes: []*v1.PersistentVolume{volume("pv", inZone("a"))}, pod: makePod("c")},
		{name: "bound, pv in other zone", claims: []*v1.PersistentVolumeClaim{claim("c", "pv", "")}, volumes: []*v1.PersistentVolume{volume("pv", inZone("b"))}, pod: makePod("c"),
			filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonNodeConflict},
		{name: "bound to missing pv", claims: []*v1.PersistentVolumeClaim{claim("c", "gone", "")}, pod: makePod("c"),
			preFilter: framework.UnschedulableAndUnresolvable, preFilterMsg: ErrReasonPVNotExist},

		{name: "wait for first consumer: matching volume on the node", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local")},
			volumes: []*v1.PersistentVolume{volume("pv-a", inZone("a"))}, pod: makePod("c"), bindings: []string{"c=pv-a"}},
		{name: "wait for first consumer: the only volume is in another zone", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local")},
			volumes: []*v1.PersistentVolume{volume("pv-b", inZone("b"))}, pod: makePod("c"),
			filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "wait for first consumer: no volumes", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local")}, pod: makePod("c"),
			filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "smallest volume that is large enough", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local", size("5Gi"))},
			volumes: []*v1.PersistentVolume{volume("pv-1g"), volume("pv-20g", capacity("20Gi")), volume("pv-10g", capacity("10Gi")), volume("pv-5g-b", capacity("5Gi"), inZone("b"))},
			pod:     makePod("c"), bindings: []string{"c=pv-10g"}},
		{name: "volume too small", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local", size("2Gi"))}, volumes: []*v1.PersistentVolume{volume("pv")},
			pod: makePod("c"), filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "access modes must all be offered", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local", modes(v1.ReadWriteOnce, v1.ReadOnlyMany))},
			volumes: []*v1.PersistentVolume{volume("pv-rwo"), volume("pv-both", pvModes(v1.ReadOnlyMany, v1.ReadWriteOnce))}, pod: makePod("c"), bindings: []string{"c=pv-both"}},
		{name: "access mode missing", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local", modes(v1.ReadWriteMany))}, volumes: []*v1.PersistentVolume{volume("pv")},
			pod: makePod("c"), filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "class must match", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local")}, volumes: []*v1.PersistentVolume{volume("pv", class("other"))},
			pod: makePod("c"), filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "selector picks the labelled volume", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local", selecting("disk", "ssd"))},
			volumes: []*v1.PersistentVolume{volume("pv-hdd", pvLabels("disk", "hdd")), volume("pv-ssd", pvLabels("disk", "ssd"), capacity("2Gi"))}, pod: makePod("c"), bindings: []string{"c=pv-ssd"}},
		{name: "selector matches nothing", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local", selecting("disk", "nvme"))}, volumes: []*v1.PersistentVolume{volume("pv", pvLabels("disk", "ssd"))},
			pod: makePod("c"), filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "volume mode must match", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local", block)}, volumes: []*v1.PersistentVolume{volume("pv")},
			pod: makePod("c"), filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "volumes not Available are left alone", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local")},
			volumes: []*v1.PersistentVolume{volume("pv-released", phase(v1.VolumeReleased)), volume("pv-pending", phase(v1.VolumePending))},
			pod:     makePod("c"), filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "volume claimed by another claim", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local")}, volumes: []*v1.PersistentVolume{volume("pv", claimedBy("other", "uid-other"))},
			pod: makePod("c"), filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "volume pre-bound to the claim wins over a smaller one", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local")},
			volumes: []*v1.PersistentVolume{volume("pv-small"), volume("pv-mine", capacity("8Gi"), claimedBy("c", ""), phase(v1.VolumePending))}, pod: makePod("c"), bindings: []string{"c=pv-mine"}},
		{name: "volume pre-bound to the claim in another zone", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local")},
			volumes: []*v1.PersistentVolume{volume("pv-a"), volume("pv-mine", inZone("b"), claimedBy("c", "uid-c"))}, pod: makePod("c"),
			filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "volume assumed for another pod's claim", claims: []*v1.PersistentVolumeClaim{claim("c", "", "local")}, volumes: []*v1.PersistentVolume{volume("pv")},
			assumed: map[string]string{"pv": "ns/other"}, pod: makePod("c"), filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "two claims need two volumes", claims: []*v1.PersistentVolumeClaim{claim("c1", "", "local"), claim("c2", "", "local")},
			volumes: []*v1.PersistentVolume{volume("pv")}, pod: makePod("c1", "c2"), filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
		{name: "two claims, two volumes", claims: []*v1.PersistentVolumeClaim{claim("c1", "", "local"), claim("c2", "", "local", size("2Gi"))},
			volumes: []*v1.PersistentVolume{volume("pv-1"), volume("pv-2", capacity("2Gi"))}, pod: makePod("c1", "c2"), bindings: []string{"c1=pv-1", "c2=pv-2"}},
		{name: "bound and unbound claims, bound volume elsewhere", claims: []*v1.PersistentVolumeClaim{claim("c1", "pv-b", ""), claim("c2", "", "local")},
			volumes: []*v1.PersistentVolume{volume("pv-b", inZone("b"), class("")), volume("pv-a", inZone("a"))}, pod: makePod("c1", "c2"),
			filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonNodeConflict},
		{name: "ephemeral volume's claim owned by the pod", claims: []*v1.PersistentVolumeClaim{claim("p-scratch", "pv", "", ownedBy("p"))},
			volumes: []*v1.PersistentVolume{volume("pv", claimedBy("p-scratch", "uid-p-scratch"))}, pod: ephemeralPod("scratch")},
		{name: "ephemeral volume's claim made by someone else", claims: []*v1.PersistentVolumeClaim{claim("p-scratch", "pv", "")},
			volumes: []*v1.PersistentVolume{volume("pv")}, pod: ephemeralPod("scratch"),
			preFilter: framework.UnschedulableAndUnresolvable, preFilterMsg: "PVC ns/p-scratch was not created for pod ns/p (pod is not owner)"},
		{name: "provisioned when no volume matches", claims: []*v1.PersistentVolumeClaim{claim("c", "", "fast")}, pod: makePod("c"), bindings: []string{"c=provision"}},
		{name: "an existing volume is preferred to provisioning", claims: []*v1.PersistentVolumeClaim{claim("c", "", "fast")},
			volumes: []*v1.PersistentVolume{volume("pv-fast", class("fast"))}, pod: makePod("c"), bindings: []string{"c=pv-fast"}},
		{name: "provisioning outside the class's allowed topologies", claims: []*v1.PersistentVolumeClaim{claim("c", "", "fast")}, pod: makePod("c"), node: "b",
			filter: framework.UnschedulableAndUnresolvable, filterMsg: ErrReasonBindConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var objs []runtime.Object
			for _, c := range defaultClasses {
				objs = append(objs, c)
			}
			for _, c := range tt.claims {
				objs = append(objs, c)
			}
			for _, v := range tt.volumes {
				objs = append(objs, v)
			}
			b := newPlugin(t, objs...)
			b.assumed = tt.assumed
			zone := tt.node
			if zone == "" {
				zone = "a"
			}
			node := zoneNode(zone)

			state := framework.NewCycleState()
			var pre framework.PreFilterPlugin = b
			st := pre.PreFilter(context.Background(), state, tt.pod, nil)
			if st.Code() != tt.preFilter || st.Message() != tt.preFilterMsg {
				t.Fatalf("PreFilter = %v, want %v %q", st, tt.preFilter, tt.preFilterMsg)
			}
			if !st.IsSuccess() {
				return
			}
			var f framework.FilterPlugin = b
			got := f.Filter(context.Background(), state, tt.pod, node)
			if got.Code() != tt.filter || got.Message() != tt.filterMsg {
				t.Fatalf("Filter = %v, want %v %q", got, tt.filter, tt.filterMsg)
			}
			if !got.IsSuccess() {
				return
			}
			s, _ := readState(state)
			var found []string
			for _, bd := range s.byNode[node.Node().Name] {
				to := "provision"
				if bd.pv != nil {
					to = bd.pv.Name
				}
				found = append(found, bd.pvc.Name+"="+to)
			}
			if strings.Join(found, ",") != strings.Join(tt.bindings, ",") {
				t.Errorf("bindings on the node = %v, want %v", found, tt.bindings)
			}
		})
	}
}

// TestReserveAssumes: a volume reserved for one pod is not offered to
// another pod's claim until the reservation is dropped.
func TestReserveAssumes(t *testing.T) {
	b := newPlugin(t, defaultClasses[0], claim("c1", "", "local"), claim("c2", "", "local"), volume("pv"))
	node := zoneNode("a")
	run := func(c string) (*framework.CycleState, *framework.Status) {
		state := framework.NewCycleState()
		pod := makePod(c)
		if st := b.PreFilter(context.Background(), state, pod, nil); !st.IsSuccess() {
			t.Fatalf("PreFilter: %v", st)
		}
		return state, b.Filter(context.Background(), state, pod, node)
	}
	s1, st := run("c1")
	if !st.IsSuccess() {
		t.Fatalf("Filter for c1: %v", st)
	}
	var r framework.ReservePlugin = b
	if st := r.Reserve(context.Background(), s1, makePod("c1"), "node-a"); !st.IsSuccess() {
		t.Fatalf("Reserve: %v", st)
	}
	if _, st := run("c2"); st.Code() != framework.UnschedulableAndUnresolvable || st.Message() != ErrReasonBindConflict {
		t.Errorf("Filter for c2 while pv is reserved for c1 = %v, want %q", st, ErrReasonBindConflict)
	}
	r.Unreserve(context.Background(), s1, makePod("c1"), "node-a")
	if _, st := run("c2"); !st.IsSuccess() {
		t.Errorf("Filter for c2 after Unreserve = %v, want success", st)
	}
}

// TestPreBind writes the bindings through a (fake) API and waits until the
// informers show them: both sides of a volume binding, and the
// selected-node annotation a provisioner acts on.
func TestPreBind(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset(defaultClasses[0], defaultClasses[1], claim("data", "", "local"), claim("scratch", "", "fast"), volume("pv-a", inZone("a")))
	factory := informers.NewSharedInformerFactory(client, 0)
	b := &VolumeBinding{client: client, pvcs: factory.Core().V1().PersistentVolumeClaims().Lister(), pvs: factory.Core().V1().PersistentVolumes().Lister(),
		classes: factory.Storage().V1().StorageClasses().Lister(), bindTimeout: time.Minute, poll: 10 * time.Millisecond}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	// A provisioner: once the claim names a node, it makes a volume there
	// and binds it, as an external provisioner and the PV controller would.
	go func() {
		for ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			c, err := client.CoreV1().PersistentVolumeClaims("ns").Get(ctx, "scratch", metav1.GetOptions{})
			if err != nil || c.Annotations[AnnSelectedNode] == "" {
				continue
			}
			pv := volume("pvc-scratch", class("fast"), inZone("a"), claimedBy("scratch", c.UID))
			client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
			c.Spec.VolumeName = pv.Name
			c.Annotations[AnnBindCompleted] = "yes"
			client.CoreV1().PersistentVolumeClaims("ns").Update(ctx, c, metav1.UpdateOptions{})
			return
		}
	}()

	pod := makePod("data", "scratch")
	state := framework.NewCycleState()
	if st := b.PreFilter(ctx, state, pod, nil); !st.IsSuccess() {
		t.Fatalf("PreFilter: %v", st)
	}
	if st := b.Filter(ctx, state, pod, zoneNode("a")); !st.IsSuccess() {
		t.Fatalf("Filter: %v", st)
	}
	if st := b.Reserve(ctx, state, pod, "node-a"); !st.IsSuccess() {
		t.Fatalf("Reserve: %v", st)
	}
	var pb framework.PreBindPlugin = b
	if st := pb.PreBind(ctx, state, pod, "node-a"); !st.IsSuccess() {
		t.Fatalf("PreBind: %v", st)
	}

	pv, _ := client.CoreV1().PersistentVolumes().Get(ctx, "pv-a", metav1.GetOptions{})
	if ref := pv.Spec.ClaimRef; ref == nil || ref.Namespace != "ns" || ref.Name != "data" || ref.UID != "uid-data" || pv.Annotations[AnnBoundByController] != "yes" {
		t.Errorf("volume pv-a: claimRef %+v, annotations %v; want bound to ns/data by the controller", pv.Spec.ClaimRef, pv.Annotations)
	}
	data, _ := client.CoreV1().PersistentVolumeClaims("ns").Get(ctx, "data", metav1.GetOptions{})
	if data.Spec.VolumeName != "pv-a" || data.Annotations[AnnBindCompleted] != "yes" || data.Annotations[AnnBoundByController] != "yes" {
		t.Errorf("claim data: volumeName %q, annotations %v; want pv-a, bind-completed", data.Spec.VolumeName, data.Annotations)
	}
	if _, ok := data.Annotations[AnnSelectedNode]; ok {
		t.Errorf("claim data bound to an existing volume got %s", AnnSelectedNode)
	}
	scratch, _ := client.CoreV1().PersistentVolumeClaims("ns").Get(ctx, "scratch", metav1.GetOptions{})
	if scratch.Annotations[AnnSelectedNode] != "node-a" || scratch.Spec.VolumeName != "pvc-scratch" {
		t.Errorf("claim scratch: volumeName %q, annotations %v; want selected-node node-a, provisioned pvc-scratch", scratch.Spec.VolumeName, scratch.Annotations)
	}
	if len(b.assumed) != 0 {
		t.Errorf("assumed after the bindings were seen: %v", b.assumed)
	}
}

// TestPreBindTimesOut: a provisioning nobody serves fails the binding
// cycle after the bind timeout, with the reason.
func TestPreBindTimesOut(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset(defaultClasses[1], claim("scratch", "", "fast"))
	factory := informers.NewSharedInformerFactory(client, 0)
	b := &VolumeBinding{client: client, pvcs: factory.Core().V1().PersistentVolumeClaims().Lister(), pvs: factory.Core().V1().PersistentVolumes().Lister(),
		classes: factory.Storage().V1().StorageClasses().Lister(), bindTimeout: 200 * time.Millisecond, poll: 10 * time.Millisecond}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	pod := makePod("scratch")
	state := framework.NewCycleState()
	b.PreFilter(ctx, state, pod, nil)
	if st := b.Filter(ctx, state, pod, zoneNode("a")); !st.IsSuccess() {
		t.Fatalf("Filter: %v", st)
	}
	b.Reserve(ctx, state, pod, "node-a")
	st := b.PreBind(ctx, state, pod, "node-a")
	if st.Code() != framework.Error || !strings.Contains(st.Message(), "timed out after 200ms waiting for the claims to be bound") {
		t.Errorf("PreBind = %v, want a timeout error", st)
	}
}
