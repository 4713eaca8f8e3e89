package projected

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

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

// tokenServer is a fake serviceaccounts/token: it numbers the tokens it
// issues, valid for validFor (the asked expirationSeconds when zero) from
// the fake clock.
type tokenServer struct {
	now      func() time.Time
	validFor time.Duration
	issued   []authenticationv1.TokenRequestSpec
	sa       []string
}

func (ts *tokenServer) install(c *fake.Clientset) {
	c.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		ca := a.(k8stesting.CreateActionImpl)
		tr := ca.GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		ts.issued = append(ts.issued, tr.Spec)
		ts.sa = append(ts.sa, ca.Name)
		valid := ts.validFor
		if valid == 0 {
			valid = time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
		}
		tr.Status = authenticationv1.TokenRequestStatus{Token: fmt.Sprintf("jwt-%d", len(ts.issued)), ExpirationTimestamp: metav1.NewTime(ts.now().Add(valid))}
		return true, tr, nil
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTokenRefresh: the token is requested for the pod's service account
// with the volume's audience and expiration, bound to the pod, and
// requested again (and rewritten) once 80% of its life has passed — or after
// 24 hours when the apiserver hands out a longer-lived one.
func TestTokenRefresh(t *testing.T) {
	tests := []struct {
		name        string
		validFor    time.Duration
		keep, renew time.Duration // still the first token at keep, a second at renew
	}{
		{name: "80% of an hour", keep: 47 * time.Minute, renew: 49 * time.Minute},
		{name: "a year-long token is renewed daily", validFor: 365 * 24 * time.Hour, keep: 23 * time.Hour, renew: 24*time.Hour + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := time.Unix(1_700_000_000, 0)
			ts := &tokenServer{now: func() time.Time { return clock }, validFor: tt.validFor}
			client := fake.NewClientset()
			ts.install(client)
			p := New(client, nil)
			p.now = ts.now
			exp := int64(3600)
			vol := &v1.Volume{Name: "vault-token", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
				{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "vault/token", Audience: "vault", ExpirationSeconds: &exp}},
			}}}}
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"}, Spec: v1.PodSpec{ServiceAccountName: "builder"}}
			dir := t.TempDir()
			setUp := func() {
				t.Helper()
				if _, err := p.SetUp(context.Background(), pod, vol, dir); err != nil {
					t.Fatal(err)
				}
			}
			setUp()
			if got := readFile(t, filepath.Join(dir, "vault/token")); got != "jwt-1" {
				t.Fatalf("token = %q, want jwt-1", got)
			}
			spec := ts.issued[0]
			if ts.sa[0] != "builder" || len(spec.Audiences) != 1 || spec.Audiences[0] != "vault" || *spec.ExpirationSeconds != 3600 ||
				spec.BoundObjectRef == nil || spec.BoundObjectRef.Kind != "Pod" || spec.BoundObjectRef.Name != "p" || spec.BoundObjectRef.UID != "u" {
				t.Errorf("token request for %s = %+v, want audience vault, 3600s, bound to pod p", ts.sa[0], spec)
			}
			clock = clock.Add(tt.keep)
			setUp()
			if got := readFile(t, filepath.Join(dir, "vault/token")); got != "jwt-1" || len(ts.issued) != 1 {
				t.Errorf("at %s: token %q after %d requests, want jwt-1 after 1", tt.keep, got, len(ts.issued))
			}
			clock = clock.Add(tt.renew - tt.keep)
			setUp()
			if got := readFile(t, filepath.Join(dir, "vault/token")); got != "jwt-2" || len(ts.issued) != 2 {
				t.Errorf("at %s: token %q after %d requests, want jwt-2 after 2", tt.renew, got, len(ts.issued))
			}
		})
	}
}

// TestKubeAPIAccessVolume: the volume the apiserver's service account
// admission adds to pods (kube-api-access-<suffix>) gives the container a
// token, the cluster CA and its namespace, world-readable.
func TestKubeAPIAccessVolume(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	ts := &tokenServer{now: func() time.Time { return clock }}
	client := fake.NewClientset(&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: "ns"}, Data: map[string]string{"ca.crt": "CLUSTER CA"}})
	ts.install(client)
	p := New(client, nil)
	p.now = ts.now
	exp, mode := int64(3607), int32(0o644)
	vol := &v1.Volume{Name: "kube-api-access-x7k2p", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{DefaultMode: &mode, Sources: []v1.VolumeProjection{
		{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: &exp}},
		{ConfigMap: &v1.ConfigMapProjection{LocalObjectReference: v1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []v1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
		{DownwardAPI: &v1.DownwardAPIProjection{Items: []v1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &v1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
	}}}}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u"}}
	dir := t.TempDir()
	if _, err := p.SetUp(context.Background(), pod, vol, dir); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"token": "jwt-1", "ca.crt": "CLUSTER CA", "namespace": "ns"} {
		if got := readFile(t, filepath.Join(dir, path)); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
		if fi, err := os.Stat(filepath.Join(dir, path)); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s mode = %v (%v), want 0644", path, fi.Mode(), err)
		}
	}
	if ts.sa[0] != "default" || len(ts.issued[0].Audiences) != 0 {
		t.Errorf("token for %q audiences %v, want the default service account and the apiserver's audiences", ts.sa[0], ts.issued[0].Audiences)
	}
}
