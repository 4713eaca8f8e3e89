package persistentvolume

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	"navarch.dev/controller-manager/pkg/controller/controllertest"
)

type pvOpt func(*corev1.PersistentVolume)

func makePV(name, size, class string, opts ...pvOpt) *corev1.PersistentVolume {
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("pv-uid-" + name)},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName:              class,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data/" + name}},
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
	}
	for _, o := range opts {
		o(pv)
	}
	return pv
}

func makePVC(name, size, class string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("pvc-uid-" + name)},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      modes,
			StorageClassName: ptr.To(class),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
}

func TestFindBest(t *testing.T) {
	claimed := makePV("claimed", "1Gi", "fast", func(pv *corev1.PersistentVolume) {
		pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "other"}
	})
	tests := []struct {
		name string
		pvc  *corev1.PersistentVolumeClaim
		pvs  []*corev1.PersistentVolume
		want string
	}{
		{name: "smallest that fits", pvc: makePVC("c", "3Gi", "fast"),
			pvs: []*corev1.PersistentVolume{makePV("big", "10Gi", "fast"), makePV("small", "1Gi", "fast"), makePV("mid", "5Gi", "fast")}, want: "mid"},
		{name: "class must match", pvc: makePVC("c", "1Gi", "fast"), pvs: []*corev1.PersistentVolume{makePV("slow", "5Gi", "slow")}},
		{name: "access modes must be offered", pvc: makePVC("c", "1Gi", "fast", corev1.ReadWriteMany), pvs: []*corev1.PersistentVolume{makePV("rwo", "5Gi", "fast")}},
		{name: "bound volumes are skipped", pvc: makePVC("c", "1Gi", "fast"), pvs: []*corev1.PersistentVolume{claimed}},
		{name: "pre-bound volume wins", pvc: makePVC("c", "1Gi", "fast"), pvs: []*corev1.PersistentVolume{
			makePV("any", "1Gi", "fast"),
			makePV("mine", "50Gi", "other", func(pv *corev1.PersistentVolume) {
				pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "c"}
			}),
		}, want: "mine"},
		{name: "released volumes are not reused", pvc: makePVC("c", "1Gi", "fast"), pvs: []*corev1.PersistentVolume{
			makePV("old", "5Gi", "fast", func(pv *corev1.PersistentVolume) { pv.Status.Phase = corev1.VolumeReleased }),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindBest(tt.pvc, tt.pvs)
			if err != nil {
				t.Fatal(err)
			}
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tt.want {
				t.Errorf("FindBest = %q, want %q", name, tt.want)
			}
		})
	}
}

type harness struct {
	client *fake.Clientset
	f      informers.SharedInformerFactory
	c      *Controller
}

func newHarness(objs ...runtime.Object) *harness {
	client := fake.NewClientset(objs...)
	controllertest.GenerateNames(client)
	f := informers.NewSharedInformerFactory(client, 0)
	c := NewController(client, f.Core().V1().PersistentVolumes(), f.Core().V1().PersistentVolumeClaims(), f.Storage().V1().StorageClasses(), record.NewFakeRecorder(100), 0)
	h := &harness{client: client, f: f, c: c}
	h.refresh()
	return h
}

func (h *harness) refresh() {
	ctx := context.Background()
	pvs, _ := h.client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	pvcs, _ := h.client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	var objs []any
	for i := range pvs.Items {
		objs = append(objs, &pvs.Items[i])
	}
	_ = h.f.Core().V1().PersistentVolumes().Informer().GetIndexer().Replace(objs, "")
	objs = nil
	for i := range pvcs.Items {
		objs = append(objs, &pvcs.Items[i])
	}
	_ = h.f.Core().V1().PersistentVolumeClaims().Informer().GetIndexer().Replace(objs, "")
}

func TestBindThenRelease(t *testing.T) {
	tests := []struct {
		name        string
		policy      corev1.PersistentVolumeReclaimPolicy
		wantDeleted bool
	}{
		{name: "Retain keeps a Released volume", policy: corev1.PersistentVolumeReclaimRetain},
		{name: "Delete deletes the volume", policy: corev1.PersistentVolumeReclaimDelete, wantDeleted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			pv := makePV("pv1", "5Gi", "fast", func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeReclaimPolicy = tt.policy })
			h := newHarness(pv, makePVC("c", "2Gi", "fast"))
			if err := h.c.sync(ctx, "claim:default/c"); err != nil {
				t.Fatal(err)
			}
			h.refresh()
			pvc, _ := h.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "c", metav1.GetOptions{})
			got, _ := h.client.CoreV1().PersistentVolumes().Get(ctx, "pv1", metav1.GetOptions{})
			if pvc.Spec.VolumeName != "pv1" || pvc.Status.Phase != corev1.ClaimBound || pvc.Annotations[AnnBindCompleted] != "yes" {
				t.Fatalf("claim not bound: volumeName %q phase %q annotations %v", pvc.Spec.VolumeName, pvc.Status.Phase, pvc.Annotations)
			}
			if cap := pvc.Status.Capacity[corev1.ResourceStorage]; cap.String() != "5Gi" {
				t.Errorf("claim capacity = %s, want the volume's 5Gi", cap.String())
			}
			if got.Spec.ClaimRef == nil || got.Spec.ClaimRef.UID != pvc.UID || got.Status.Phase != corev1.VolumeBound {
				t.Fatalf("volume not bound: claimRef %+v phase %q", got.Spec.ClaimRef, got.Status.Phase)
			}
			if err := h.client.CoreV1().PersistentVolumeClaims("default").Delete(ctx, "c", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			h.refresh()
			if err := h.c.sync(ctx, "volume:pv1"); err != nil {
				t.Fatal(err)
			}
			got, err := h.client.CoreV1().PersistentVolumes().Get(ctx, "pv1", metav1.GetOptions{})
			if tt.wantDeleted {
				if err == nil {
					t.Errorf("volume still exists, phase %q", got.Status.Phase)
				}
				return
			}
			if err != nil || got.Status.Phase != corev1.VolumeReleased {
				t.Errorf("volume = %v, %v; want Released", got, err)
			}
		})
	}
}

func TestPendingWithoutVolume(t *testing.T) {
	ctx := context.Background()
	h := newHarness(makePVC("c", "2Gi", ""))
	if err := h.c.sync(ctx, "claim:default/c"); err != nil {
		t.Fatal(err)
	}
	pvc, _ := h.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "c", metav1.GetOptions{})
	if pvc.Status.Phase != corev1.ClaimPending || pvc.Spec.VolumeName != "" {
		t.Errorf("claim = %q/%q, want Pending and unbound", pvc.Status.Phase, pvc.Spec.VolumeName)
	}
}

// TestWaitForFirstConsumer: the binder leaves the choice of volume for a
// WaitForFirstConsumer claim to the scheduler — with or without a selected
// node it binds no free volume — but completes a binding the scheduler
// started on the volume side.
func TestWaitForFirstConsumer(t *testing.T) {
	wffc := storagev1.VolumeBindingWaitForFirstConsumer
	tests := []struct {
		name       string
		selected   string
		prebound   bool
		wantVolume string
	}{
		{name: "no selected node: waits", wantVolume: ""},
		{name: "selected node (provisioning): no free volume is taken", selected: "node-a", wantVolume: ""},
		{name: "volume claimed by the scheduler: completed", prebound: true, wantVolume: "pv1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			pvc := makePVC("c", "1Gi", "local")
			if tt.selected != "" {
				pvc.Annotations = map[string]string{AnnSelectedNode: tt.selected}
			}
			pv := makePV("pv1", "1Gi", "local")
			if tt.prebound {
				pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "c", UID: pvc.UID}
			}
			h := newHarness(pv, pvc)
			sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local"}, Provisioner: "kubernetes.io/no-provisioner", VolumeBindingMode: &wffc}
			if err := h.f.Storage().V1().StorageClasses().Informer().GetStore().Add(sc); err != nil {
				t.Fatal(err)
			}
			if err := h.c.sync(ctx, "claim:default/c"); err != nil {
				t.Fatal(err)
			}
			got, _ := h.client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "c", metav1.GetOptions{})
			if got.Spec.VolumeName != tt.wantVolume {
				t.Errorf("claim volumeName = %q, want %q", got.Spec.VolumeName, tt.wantVolume)
			}
			vol, _ := h.client.CoreV1().PersistentVolumes().Get(ctx, "pv1", metav1.GetOptions{})
			if !tt.prebound && vol.Spec.ClaimRef != nil {
				t.Errorf("free volume was claimed: %+v", vol.Spec.ClaimRef)
			}
		})
	}
}
