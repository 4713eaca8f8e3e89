package volumerestrictions

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"navarch.dev/scheduler/pkg/framework"
)

func makePod(name string, vols ...v1.VolumeSource) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name)}}
	for _, v := range vols {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: "v", VolumeSource: v})
	}
	return p
}

func gce(name string, ro bool) v1.VolumeSource {
	return v1.VolumeSource{GCEPersistentDisk: &v1.GCEPersistentDiskVolumeSource{PDName: name, ReadOnly: ro}}
}
func ebs(id string) v1.VolumeSource {
	return v1.VolumeSource{AWSElasticBlockStore: &v1.AWSElasticBlockStoreVolumeSource{VolumeID: id}}
}
func iscsi(iqn string, ro bool) v1.VolumeSource {
	return v1.VolumeSource{ISCSI: &v1.ISCSIVolumeSource{IQN: iqn, ReadOnly: ro}}
}
func rbd(mons []string, image string, ro bool) v1.VolumeSource {
	return v1.VolumeSource{RBD: &v1.RBDVolumeSource{CephMonitors: mons, RBDPool: "rbd", RBDImage: image, ReadOnly: ro}}
}
func pvc(name string) v1.VolumeSource {
	return v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: name}}
}

func TestFilter(t *testing.T) {
	conflict := framework.NewStatus(framework.Unschedulable, ErrReasonDiskConflict)
	tests := []struct {
		name     string
		pod      *v1.Pod
		existing *v1.Pod
		want     *framework.Status
	}{
		{name: "gce same disk", pod: makePod("p", gce("d", false)), existing: makePod("e", gce("d", false)), want: conflict},
		{name: "gce both read-only", pod: makePod("p", gce("d", true)), existing: makePod("e", gce("d", true))},
		{name: "gce other disk", pod: makePod("p", gce("d1", false)), existing: makePod("e", gce("d2", false))},
		{name: "ebs same volume even read-only", pod: makePod("p", ebs("v")), existing: makePod("e", ebs("v")), want: conflict},
		{name: "iscsi same iqn", pod: makePod("p", iscsi("iqn.1", false)), existing: makePod("e", iscsi("iqn.1", true)), want: conflict},
		{name: "iscsi both read-only", pod: makePod("p", iscsi("iqn.1", true)), existing: makePod("e", iscsi("iqn.1", true))},
		{name: "rbd shared monitor same image", pod: makePod("p", rbd([]string{"a", "b"}, "img", false)), existing: makePod("e", rbd([]string{"b", "c"}, "img", false)), want: conflict},
		{name: "rbd no shared monitor", pod: makePod("p", rbd([]string{"a"}, "img", false)), existing: makePod("e", rbd([]string{"c"}, "img", false))},
		{name: "rbd other image", pod: makePod("p", rbd([]string{"a"}, "img1", false)), existing: makePod("e", rbd([]string{"a"}, "img2", false))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ni := framework.NewNodeInfo(tt.existing)
			ni.SetNode(&v1.Node{})
			var p framework.FilterPlugin = &VolumeRestrictions{}
			if got := p.Filter(context.Background(), nil, tt.pod, ni); got.String() != tt.want.String() {
				t.Errorf("Filter = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadWriteOncePod(t *testing.T) {
	claim := func(name string, mode v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
		return &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: v1.PersistentVolumeClaimSpec{AccessModes: []v1.PersistentVolumeAccessMode{mode}}}
	}
	tests := []struct {
		name     string
		existing *v1.Pod
		claimed  string
		want     framework.Code
	}{
		{name: "RWOP in use", existing: makePod("e", pvc("rwop")), claimed: "rwop", want: framework.UnschedulableAndUnresolvable},
		{name: "RWOP free", existing: makePod("e"), claimed: "rwop", want: framework.Skip},
		{name: "RWO in use is fine", existing: makePod("e", pvc("rwo")), claimed: "rwo", want: framework.Skip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
			store := factory.Core().V1().PersistentVolumeClaims().Informer().GetStore()
			store.Add(claim("rwop", v1.ReadWriteOncePod))
			store.Add(claim("rwo", v1.ReadWriteOnce))
			p := &VolumeRestrictions{pvcs: factory.Core().V1().PersistentVolumeClaims().Lister()}
			ni := framework.NewNodeInfo(tt.existing)
			ni.SetNode(&v1.Node{})
			got := p.PreFilter(context.Background(), nil, makePod("p", pvc(tt.claimed)), []*framework.NodeInfo{ni})
			if got.Code() != tt.want {
				t.Errorf("PreFilter = %v, want %v", got, tt.want)
			}
		})
	}
}
