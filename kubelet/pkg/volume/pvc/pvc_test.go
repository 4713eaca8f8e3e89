package pvc

import (
	"context"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func claim(name, pv string, phase v1.PersistentVolumeClaimPhase) *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec: v1.PersistentVolumeClaimSpec{VolumeName: pv}, Status: v1.PersistentVolumeClaimStatus{Phase: phase}}
}

func pv(name string, src v1.PersistentVolumeSource) *v1.PersistentVolume {
	return &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1.PersistentVolumeSpec{PersistentVolumeSource: src}}
}

func TestSetUp(t *testing.T) {
	root := t.TempDir()
	dirOrCreate := v1.HostPathDirectoryOrCreate
	hp := filepath.Join(root, "hp")
	client := fake.NewClientset(
		claim("hostpath", "pv-hp", v1.ClaimBound), pv("pv-hp", v1.PersistentVolumeSource{HostPath: &v1.HostPathVolumeSource{Path: hp, Type: &dirOrCreate}}),
		claim("local", "pv-local", v1.ClaimBound), pv("pv-local", v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: root}}),
		claim("pending", "", v1.ClaimPending),
		claim("nfs", "pv-nfs", v1.ClaimBound), pv("pv-nfs", v1.PersistentVolumeSource{NFS: &v1.NFSVolumeSource{Server: "x", Path: "/"}}),
	)
	tests := []struct {
		name, claim, want string
		wantErr           bool
	}{
		{name: "hostPath PV", claim: "hostpath", want: hp},
		{name: "local PV", claim: "local", want: root},
		{name: "unbound", claim: "pending", wantErr: true},
		{name: "unsupported PV", claim: "nfs", wantErr: true},
		{name: "missing claim", claim: "nope", wantErr: true},
	}
	p := New(client)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &v1.Volume{Name: "data", VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: tt.claim}}}
			got, err := p.SetUp(context.Background(), &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"}}, v, "")
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("SetUp = %q, %v; want %q, error: %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
