package volumebinding

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"navarch.dev/scheduler/pkg/framework"
)

func claim(name, volume, class string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: v1.PersistentVolumeClaimSpec{VolumeName: volume}}
	if class != "" {
		c.Spec.StorageClassName = &class
	}
	return c
}

func volume(name string, zone string) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if zone != "" {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{zone}}}}}}}
	}
	return pv
}

func makePod(claims ...string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	for _, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: c, VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return p
}

func TestVolumeBinding(t *testing.T) {
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	tests := []struct {
		name          string
		pod           *v1.Pod
		preFilter     framework.Code
		preFilterMsg  string
		filter        framework.Code
		filterReasons string
	}{
		{name: "no claims skips", pod: makePod(), preFilter: framework.Skip},
		{name: "missing claim", pod: makePod("nope"), preFilter: framework.UnschedulableAndUnresolvable, preFilterMsg: `persistentvolumeclaim "nope" not found`},
		{name: "unbound immediate", pod: makePod("unbound"), preFilter: framework.UnschedulableAndUnresolvable, preFilterMsg: ErrReasonUnboundImmediate},
		{name: "bound, pv without affinity", pod: makePod("anywhere")},
		{name: "bound, pv in node's zone", pod: makePod("zone-a")},
		{name: "bound, pv in other zone", pod: makePod("zone-b"), filter: framework.UnschedulableAndUnresolvable, filterReasons: ErrReasonNodeConflict},
		{name: "bound to missing pv", pod: makePod("dangling"), preFilter: framework.UnschedulableAndUnresolvable, preFilterMsg: ErrReasonPVNotExist},
		{name: "unbound wait-for-first-consumer", pod: makePod("wffc"), filter: framework.UnschedulableAndUnresolvable, filterReasons: ErrReasonBindConflict},
	}
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	pvcs := factory.Core().V1().PersistentVolumeClaims().Informer().GetStore()
	for _, c := range []*v1.PersistentVolumeClaim{claim("unbound", "", ""), claim("anywhere", "pv-any", ""), claim("zone-a", "pv-a", ""),
		claim("zone-b", "pv-b", ""), claim("dangling", "pv-gone", ""), claim("wffc", "", "local")} {
		pvcs.Add(c)
	}
	pvs := factory.Core().V1().PersistentVolumes().Informer().GetStore()
	pvs.Add(volume("pv-any", ""))
	pvs.Add(volume("pv-a", "a"))
	pvs.Add(volume("pv-b", "b"))
	factory.Storage().V1().StorageClasses().Informer().GetStore().Add(&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local"}, VolumeBindingMode: &wffc})
	b := &VolumeBinding{pvcs: factory.Core().V1().PersistentVolumeClaims().Lister(), pvs: factory.Core().V1().PersistentVolumes().Lister(), classes: factory.Storage().V1().StorageClasses().Lister()}
	node := framework.NewNodeInfo()
	node.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"zone": "a"}}})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := framework.NewCycleState()
			st := b.PreFilter(context.Background(), state, tt.pod, nil)
			if st.Code() != tt.preFilter || st.Message() != tt.preFilterMsg {
				t.Fatalf("PreFilter = %v, want %v %q", st, tt.preFilter, tt.preFilterMsg)
			}
			if !st.IsSuccess() {
				return
			}
			var f framework.FilterPlugin = b
			got := f.Filter(context.Background(), state, tt.pod, node)
			if got.Code() != tt.filter || got.Message() != tt.filterReasons {
				t.Errorf("Filter = %v, want %v %q", got, tt.filter, tt.filterReasons)
			}
		})
	}
}
