package volume

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestManager(t *testing.T) {
	client := fake.NewClientset(&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns"}, Data: map[string]string{"k": "v1"}})
	podsDir := t.TempDir()
	m := NewManager(podsDir, time.Minute, Registry(client, nil))
	clock := time.Now()
	m.now = func() time.Time { return clock }
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1"}, Spec: v1.PodSpec{Volumes: []v1.Volume{
		{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "app"}}}},
		{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
	}}}
	ctx := context.Background()
	paths, err := m.Setup(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(podsDir, "u1", "volumes", "kubernetes.io~configmap", "cfg"); paths["cfg"] != want {
		t.Errorf("cfg at %s, want %s", paths["cfg"], want)
	}
	read := func() string { b, _ := os.ReadFile(filepath.Join(paths["cfg"], "k")); return string(b) }

	cm, _ := client.CoreV1().ConfigMaps("ns").Get(ctx, "app", metav1.GetOptions{})
	cm.Data["k"] = "v2"
	client.CoreV1().ConfigMaps("ns").Update(ctx, cm, metav1.UpdateOptions{})
	m.Setup(ctx, pod)
	if got := read(); got != "v1" {
		t.Errorf("refreshed before the refresh period: %q", got)
	}
	clock = clock.Add(2 * time.Minute)
	m.Setup(ctx, pod)
	if got := read(); got != "v2" {
		t.Errorf("after the refresh period = %q, want v2", got)
	}

	// A refresh that fails keeps the running pod's volume.
	client.CoreV1().ConfigMaps("ns").Delete(ctx, "app", metav1.DeleteOptions{})
	clock = clock.Add(2 * time.Minute)
	if _, err := m.Setup(ctx, pod); err != nil || read() != "v2" {
		t.Errorf("failed refresh: err %v, content %q", err, read())
	}

	if err := m.TearDown("u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(podsDir, "u1")); !os.IsNotExist(err) {
		t.Errorf("pod dir left: %v", err)
	}

	// A new pod whose ConfigMap is missing waits for its volumes, with
	// upstream's FailedMount message naming what is missing.
	pod.UID = "u2"
	_, err = m.Setup(ctx, pod)
	if want := `MountVolume.SetUp failed for volume "cfg" : configmap "app" not found`; err == nil || err.Error() != want {
		t.Fatalf("missing ConfigMap: err = %v, want %q", err, want)
	}
	var unsupported = &v1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "u3"}, Spec: v1.PodSpec{Volumes: []v1.Volume{{Name: "x", VolumeSource: v1.VolumeSource{NFS: &v1.NFSVolumeSource{}}}}}}
	if _, err := m.Setup(ctx, unsupported); err == nil {
		t.Errorf("unsupported volume type: err = %v", err)
	}
}
