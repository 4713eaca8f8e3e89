package configmap

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func makeCM(name string, data map[string]string) *v1.ConfigMap {
	return &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Data: data}
}

func vol(src v1.ConfigMapVolumeSource) *v1.Volume {
	return &v1.Volume{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &src}}
}

func TestSetUp(t *testing.T) {
	yes := true
	mode := int32(0o400)
	tests := []struct {
		name    string
		src     v1.ConfigMapVolumeSource
		want    map[string]string // path → content
		modes   map[string]os.FileMode
		wantErr bool
	}{
		{name: "all keys", src: v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "app"}},
			want: map[string]string{"a": "1", "b": "2"}, modes: map[string]os.FileMode{"a": 0o644}},
		{name: "default mode", src: v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "app"}, DefaultMode: &mode},
			want: map[string]string{"a": "1", "b": "2"}, modes: map[string]os.FileMode{"a": 0o400}},
		{name: "items", src: v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "app"},
			Items: []v1.KeyToPath{{Key: "a", Path: "dir/a.conf", Mode: &mode}}},
			want: map[string]string{"dir/a.conf": "1"}, modes: map[string]os.FileMode{"dir/a.conf": 0o400}},
		{name: "missing item key", src: v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "app"},
			Items: []v1.KeyToPath{{Key: "zzz", Path: "z"}}}, wantErr: true},
		{name: "missing configmap", src: v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "nope"}}, wantErr: true},
		{name: "missing optional configmap", src: v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "nope"}, Optional: &yes},
			want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(fake.NewClientset(makeCM("app", map[string]string{"a": "1", "b": "2"})))
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
			dir := t.TempDir()
			_, err := p.SetUp(context.Background(), pod, vol(tt.src), dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("SetUp error = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			for path, content := range tt.want {
				b, err := os.ReadFile(filepath.Join(dir, path))
				if err != nil || string(b) != content {
					t.Errorf("%s = %q (%v), want %q", path, b, err, content)
				}
			}
			for path, m := range tt.modes {
				if fi, err := os.Stat(filepath.Join(dir, path)); err != nil || fi.Mode().Perm() != m {
					t.Errorf("%s mode = %v (%v), want %v", path, fi.Mode().Perm(), err, m)
				}
			}
		})
	}
}

func TestUpdateReachesVolume(t *testing.T) {
	client := fake.NewClientset(makeCM("app", map[string]string{"a": "old"}))
	p := New(client)
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	dir := t.TempDir()
	v := vol(v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: "app"}})
	if _, err := p.SetUp(context.Background(), pod, v, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().ConfigMaps("ns").Update(context.Background(), makeCM("app", map[string]string{"a": "new"}), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SetUp(context.Background(), pod, v, dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "new" {
		t.Errorf("a = %q after update, want new", b)
	}
}
