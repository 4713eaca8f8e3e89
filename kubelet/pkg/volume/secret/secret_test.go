package secret

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestSetUp(t *testing.T) {
	yes := true
	mode := int32(0o440)
	tests := []struct {
		name    string
		src     v1.SecretVolumeSource
		want    map[string]string
		mode    os.FileMode
		wantErr bool
	}{
		{name: "all keys 0644", src: v1.SecretVolumeSource{SecretName: "creds"}, want: map[string]string{"user": "admin", "pass": "s3cret"}, mode: 0o644},
		{name: "defaultMode", src: v1.SecretVolumeSource{SecretName: "creds", DefaultMode: &mode}, want: map[string]string{"user": "admin"}, mode: 0o440},
		{name: "items", src: v1.SecretVolumeSource{SecretName: "creds", Items: []v1.KeyToPath{{Key: "pass", Path: "p/w"}}}, want: map[string]string{"p/w": "s3cret"}, mode: 0o644},
		{name: "missing", src: v1.SecretVolumeSource{SecretName: "none"}, wantErr: true},
		{name: "missing optional", src: v1.SecretVolumeSource{SecretName: "none", Optional: &yes}, want: map[string]string{}},
		{name: "missing key optional", src: v1.SecretVolumeSource{SecretName: "creds", Optional: &yes, Items: []v1.KeyToPath{{Key: "x", Path: "x"}}}, want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(fake.NewClientset(&v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "ns"},
				Data: map[string][]byte{"user": []byte("admin"), "pass": []byte("s3cret")}}))
			dir := t.TempDir()
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
			_, err := p.SetUp(context.Background(), pod, &v1.Volume{Name: "s", VolumeSource: v1.VolumeSource{Secret: &tt.src}}, dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("SetUp error = %v, want error: %v", err, tt.wantErr)
			}
			for path, content := range tt.want {
				b, err := os.ReadFile(filepath.Join(dir, path))
				if err != nil || string(b) != content {
					t.Errorf("%s = %q (%v), want %q", path, b, err, content)
				}
				if fi, _ := os.Stat(filepath.Join(dir, path)); fi != nil && fi.Mode().Perm() != tt.mode {
					t.Errorf("%s mode = %v, want %v", path, fi.Mode().Perm(), tt.mode)
				}
			}
		})
	}
}
