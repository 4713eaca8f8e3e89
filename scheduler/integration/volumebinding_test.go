package integration

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (e *env) createClass(name string, mode storagev1.VolumeBindingMode) {
	e.t.Helper()
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: "kubernetes.io/no-provisioner", VolumeBindingMode: &mode}
	if _, err := e.client.StorageV1().StorageClasses().Create(e.ctx, sc, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create storage class %s: %v", name, err)
	}
}

// createLocalVolume creates an Available local volume of class "local"
// pinned to the nodes of zone.
func (e *env) createLocalVolume(name, size, zone string) {
	e.t.Helper()
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			StorageClassName:       "local",
			Capacity:               v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)},
			AccessModes:            []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			PersistentVolumeSource: v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: "/mnt/" + name}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: []string{zone}}}}}}},
		},
	}
	created, err := e.client.CoreV1().PersistentVolumes().Create(e.ctx, pv, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("create volume %s: %v", name, err)
	}
	// What the PersistentVolume controller would do for a new volume.
	created.Status.Phase = v1.VolumeAvailable
	if _, err := e.client.CoreV1().PersistentVolumes().UpdateStatus(e.ctx, created, metav1.UpdateOptions{}); err != nil {
		e.t.Fatalf("volume %s status: %v", name, err)
	}
}

func (e *env) createClaim(name, class, size string) {
	e.t.Helper()
	pvc := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}},
		},
	}
	if _, err := e.client.CoreV1().PersistentVolumeClaims("default").Create(e.ctx, pvc, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("create claim %s: %v", name, err)
	}
}

func withClaim(claim string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: claim,
			VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
	}
}

// checkBound checks both sides of a claim's binding as the API shows them.
func (e *env) checkBound(claim, volume string) {
	e.t.Helper()
	pvc, err := e.client.CoreV1().PersistentVolumeClaims("default").Get(e.ctx, claim, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	if pvc.Spec.VolumeName != volume || pvc.Annotations["pv.kubernetes.io/bind-completed"] != "yes" {
		e.t.Errorf("claim %s: volumeName %q, annotations %v; want %s, bind-completed", claim, pvc.Spec.VolumeName, pvc.Annotations, volume)
	}
	pv, err := e.client.CoreV1().PersistentVolumes().Get(e.ctx, volume, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	if ref := pv.Spec.ClaimRef; ref == nil || ref.Namespace != "default" || ref.Name != claim || ref.UID != pvc.UID {
		e.t.Errorf("volume %s: claimRef %+v, want default/%s uid %s", volume, pv.Spec.ClaimRef, claim, pvc.UID)
	}
}

// TestWaitForFirstConsumer: a claim of a WaitForFirstConsumer class is
// bound by the scheduler to a volume on the node it picks for the pod; a
// pod whose claim no volume fits waits with upstream's reason and lands
// once a volume appears; an unbound claim of an immediate class makes the
// pod wait.
func TestWaitForFirstConsumer(t *testing.T) {
	e := newEnv(t)
	e.createNode(makeNode("node-a", "8", "16Gi", labels("zone", "a")))
	e.createNode(makeNode("node-b", "8", "16Gi", labels("zone", "b")))
	e.createClass("local", storagev1.VolumeBindingWaitForFirstConsumer)
	e.createClass("manual", storagev1.VolumeBindingImmediate)
	e.createLocalVolume("pv-b-small", "1Gi", "b")
	e.createLocalVolume("pv-b-large", "10Gi", "b")
	e.createClaim("data", "local", "5Gi")
	e.startScheduler(nil)

	// Only the 10Gi volume in zone b fits the 5Gi claim: the pod goes there.
	e.createPod(makePod("db", withClaim("data")))
	if node := e.waitBound("default", "db"); node != "node-b" {
		t.Errorf("pod db bound to %s, want node-b (where its volume is)", node)
	}
	e.checkBound("data", "pv-b-large")

	// A second claim: the small volume is too small, nothing in zone a.
	e.createClaim("logs", "local", "2Gi")
	e.createPod(makePod("logger", withClaim("logs")))
	const want = "0/2 nodes are available: 2 node(s) didn't find available persistent volumes to bind. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
	if msg := e.waitUnschedulable("default", "logger"); msg != want {
		t.Errorf("condition message = %q, want %q", msg, want)
	}
	e.waitEvent("default", "logger", "FailedScheduling", want)
	// A volume in zone a appears: the pod follows it.
	e.createLocalVolume("pv-a", "2Gi", "a")
	if node := e.waitBound("default", "logger"); node != "node-a" {
		t.Errorf("pod logger bound to %s, want node-a", node)
	}
	e.checkBound("logs", "pv-a")
	pv, err := e.client.CoreV1().PersistentVolumes().Get(e.ctx, "pv-b-small", metav1.GetOptions{})
	if err != nil || pv.Spec.ClaimRef != nil {
		t.Errorf("volume pv-b-small: %v, claimRef %+v; want untouched", err, pv.Spec.ClaimRef)
	}

	// Immediate binding: the scheduler does not bind, the pod waits.
	e.createClaim("manual", "manual", "1Gi")
	e.createPod(makePod("manual", withClaim("manual")))
	const wantImmediate = "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
	if msg := e.waitUnschedulable("default", "manual"); msg != wantImmediate {
		t.Errorf("condition message = %q, want %q", msg, wantImmediate)
	}
}
