package storageapi

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func class(provisioner string, params map[string]string) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast", ResourceVersion: "1"}, Provisioner: provisioner, Parameters: params}
}

func TestStorageClasses(t *testing.T) {
	sc := class("example.com/disk", nil)
	if errs := resourcetest.Create(storageClassStrategy, sc); len(errs) > 0 {
		t.Fatal(errs)
	}
	if *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
		t.Errorf("defaults not applied: %+v", sc)
	}
	retain := corev1.PersistentVolumeReclaimRetain
	tests := []struct {
		name     string
		old, obj *storagev1.StorageClass
		want     []string
	}{
		{name: "provisioner required", obj: class("", nil), want: []string{"provisioner: Required value"}},
		{name: "provisioner must be a qualified name", obj: class("bad provisioner", nil), want: []string{"provisioner: Invalid value"}},
		{name: "bad reclaim policy", obj: func() *storagev1.StorageClass {
			c := class("example.com/disk", nil)
			r := corev1.PersistentVolumeReclaimRecycle
			c.ReclaimPolicy = &r
			return c
		}(), want: []string{"reclaimPolicy: Unsupported value"}},
		{name: "parameters are immutable", old: class("example.com/disk", map[string]string{"type": "ssd"}), obj: class("example.com/disk", map[string]string{"type": "hdd"}),
			want: []string{"parameters: Forbidden"}},
		{name: "provisioner is immutable", old: class("example.com/disk", nil), obj: class("example.com/other", nil),
			want: []string{"provisioner: Forbidden"}},
		{name: "reclaim policy is immutable", old: class("example.com/disk", nil), obj: func() *storagev1.StorageClass {
			c := class("example.com/disk", nil)
			c.ReclaimPolicy = &retain
			return c
		}(), want: []string{"reclaimPolicy: Forbidden"}},
		{name: "labels may change", old: class("example.com/disk", nil), obj: func() *storagev1.StorageClass {
			c := class("example.com/disk", nil)
			c.Labels = map[string]string{"tier": "gold"}
			return c
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.old == nil {
				resourcetest.SameErrs(t, resourcetest.Create(storageClassStrategy, tt.obj), tt.want)
				return
			}
			resourcetest.Create(storageClassStrategy, tt.old)
			resourcetest.SameErrs(t, resourcetest.Update(storageClassStrategy, tt.obj, tt.old), tt.want)
		})
	}
}
