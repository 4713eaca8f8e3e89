package projected

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func objects() []runtime.Object {
	return []runtime.Object{
		&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"ca.crt": "CA"}},
		&v1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Data: map[string][]byte{"key": []byte("K")}},
	}
}

func volume() *v1.Volume {
	exp := int64(3600)
	return &v1.Volume{Name: "api", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
		{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &exp}},
		{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "cm"}}},
		{Secret: &v1.SecretProjection{LocalObjectReference: v1.LocalObjectReference{Name: "s"}, Items: []v1.KeyToPath{{Key: "key", Path: "tls/key"}}}},
		{DownwardAPI: &v1.DownwardAPIProjection{Items: []v1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
	}}}}
}

func TestSetUp(t *testing.T) {
	tests := []struct {
		name      string
		tokenResp func() (*authenticationv1.TokenRequest, error)
		wantToken string // "" means no token file
	}{
		{name: "with token", tokenResp: func() (*authenticationv1.TokenRequest, error) {
			return &authenticationv1.TokenRequest{Status: authenticationv1.TokenRequestStatus{Token: "jwt"}}, nil
		}, wantToken: "jwt"},
		{name: "apiserver without serviceaccounts/token", tokenResp: func() (*authenticationv1.TokenRequest, error) {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccounts/token"}, "default")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(objects()...)
			var asked string
			client.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != "token" {
					return false, nil, nil
				}
				asked = a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).Spec.BoundObjectRef.Name
				r, err := tt.tokenResp()
				return true, r, err
			})
			p := New(client, nil)
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"}}
			dir := t.TempDir()
			if _, err := p.SetUp(context.Background(), pod, volume(), dir); err != nil {
				t.Fatal(err)
			}
			if asked != "p" {
				t.Errorf("token request bound to %q, want the pod", asked)
			}
			want := map[string]string{"ca.crt": "CA", "tls/key": "K", "namespace": "ns"}
			if tt.wantToken != "" {
				want["token"] = tt.wantToken
			}
			for path, content := range want {
				if b, err := os.ReadFile(filepath.Join(dir, path)); err != nil || string(b) != content {
					t.Errorf("%s = %q (%v), want %q", path, b, err, content)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "token")); tt.wantToken == "" && err == nil {
				t.Error("token file written without a token")
			}
		})
	}
}
