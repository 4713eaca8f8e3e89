package downwardapi

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSetUp(t *testing.T) {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Labels: map[string]string{"app": "web", "tier": "fe"}},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{
			Limits: v1.ResourceList{v1.ResourceMemory: resource.MustParse("64Mi")}}}}},
	}
	mi := resource.MustParse("1Mi")
	items := []v1.DownwardAPIVolumeFile{
		{Path: "name", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}},
		{Path: "labels", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
		{Path: "mem", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.memory", Divisor: mi}},
		{Path: "cpu", ResourceFieldRef: &v1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.cpu"}},
	}
	p := New(v1.ResourceList{v1.ResourceCPU: resource.MustParse("2")})
	dir := t.TempDir()
	v := &v1.Volume{Name: "info", VolumeSource: v1.VolumeSource{DownwardAPI: &v1.DownwardAPIVolumeSource{Items: items}}}
	if _, err := p.SetUp(context.Background(), pod, v, dir); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, want string }{
		{name: "field", path: "name", want: "p"},
		{name: "labels", path: "labels", want: "app=\"web\"\ntier=\"fe\""},
		{name: "memory limit in Mi", path: "mem", want: "64"},
		{name: "unset cpu limit is allocatable", path: "cpu", want: "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tt.path))
			if err != nil || string(b) != tt.want {
				t.Errorf("%s = %q (%v), want %q", tt.path, b, err, tt.want)
			}
		})
	}
	pod.Labels["app"] = "api"
	if _, err := p.SetUp(context.Background(), pod, v, dir); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "labels")); string(b) != "app=\"api\"\ntier=\"fe\"" {
		t.Errorf("labels after change = %q", b)
	}
}
