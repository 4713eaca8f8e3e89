package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// objects is an in-memory Objects keyed "<kind>/<ns>/<name>".
type objects map[string]metav1.Object

func (o objects) find(kind, ns, name string) (metav1.Object, error) {
	if obj, ok := o[kind+"/"+ns+"/"+name]; ok {
		return obj, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: kind}, name)
}

func (o objects) ServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	obj, err := o.find("serviceaccounts", ns, name)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.ServiceAccount), nil
}

func (o objects) Pod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	obj, err := o.find("pods", ns, name)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Pod), nil
}

func (o objects) Secret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	obj, err := o.find("secrets", ns, name)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Secret), nil
}

func (o objects) Node(_ context.Context, name string) (*corev1.Node, error) {
	obj, err := o.find("nodes", "", name)
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Node), nil
}

func meta(name, ns, uid string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(uid)}
}

func newKey(t testing.TB) crypto.Signer {
	t.Helper()
	path, err := EnsureKeyPair(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	k, err := LoadSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const iss = "https://kubernetes.default.svc.cluster.local"

func TestAuthenticateToken(t *testing.T) {
	key := newKey(t)
	issuer, err := NewIssuer(iss, key)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewIssuer(iss, newKey(t))
	otherIssuer, _ := NewIssuer("https://elsewhere", key)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	deletedLongAgo := metav1.NewTime(now.Add(-5 * time.Minute))
	deletedJustNow := metav1.NewTime(now.Add(-10 * time.Second))
	objs := objects{
		"serviceaccounts/ns/sa": &corev1.ServiceAccount{ObjectMeta: meta("sa", "ns", "sa-uid")},
		"pods/ns/p":             &corev1.Pod{ObjectMeta: meta("p", "ns", "pod-uid")},
		"pods/ns/going":         &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "going", Namespace: "ns", UID: "going-uid", DeletionTimestamp: &deletedJustNow}},
		"pods/ns/gone":          &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: "ns", UID: "gone-uid", DeletionTimestamp: &deletedLongAgo}},
		"secrets/ns/s":          &corev1.Secret{ObjectMeta: meta("s", "ns", "secret-uid")},
		"nodes//n":              &corev1.Node{ObjectMeta: meta("n", "", "node-uid")},
	}
	a := &Authenticator{Issuers: []string{iss}, Keys: []crypto.PublicKey{key.Public()}, APIAudiences: []string{iss}, Objects: objs, Now: func() time.Time { return now }}
	base := Claims{Namespace: "ns", ServiceAccount: Ref{Name: "sa", UID: "sa-uid"}, Audiences: []string{iss, "vault"}, Expiration: time.Hour}
	with := func(f func(*Claims)) Claims {
		c := base
		f(&c)
		return c
	}
	tests := []struct {
		name      string
		issuer    *Issuer
		claims    Claims
		issuedAt  time.Time
		audiences []string
		// wantOK false with wantErr "" means the token is not ours.
		wantOK    bool
		wantErr   string
		wantExtra map[string]string
		wantAud   []string
	}{
		{name: "valid", claims: base, wantOK: true, wantAud: []string{iss}},
		{name: "asked for another audience it has", claims: base, audiences: []string{"vault", "x"}, wantOK: true, wantAud: []string{"vault"}},
		{name: "audience it lacks", claims: base, audiences: []string{"x"}, wantErr: "audiences are invalid"},
		{name: "expired beyond the leeway", claims: base, issuedAt: now.Add(-2 * time.Hour), wantErr: "expired"},
		{name: "expired within the leeway", claims: with(func(c *Claims) { c.Expiration = time.Hour }), issuedAt: now.Add(-time.Hour - 30*time.Second), wantOK: true, wantAud: []string{iss}},
		{name: "not yet valid", claims: base, issuedAt: now.Add(time.Hour), wantErr: "serviceaccount:"},
		{name: "signed by another key", issuer: other, claims: base, wantErr: "signature is invalid"},
		{name: "other issuer", issuer: otherIssuer, claims: base},
		{name: "service account recreated", claims: with(func(c *Claims) { c.ServiceAccount.UID = "old" }), wantErr: "does not match"},
		{name: "service account deleted", claims: with(func(c *Claims) { c.ServiceAccount.Name = "ghost" }), wantErr: "no longer exists"},
		{name: "bound to a pod", claims: with(func(c *Claims) { c.Pod = &Ref{Name: "p", UID: "pod-uid"}; c.Node = &Ref{Name: "n", UID: "node-uid"} }), wantOK: true, wantAud: []string{iss},
			wantExtra: map[string]string{ExtraPodName: "p", ExtraPodUID: "pod-uid", ExtraNodeName: "n", ExtraNodeUID: "node-uid"}},
		{name: "bound to a pod just being deleted", claims: with(func(c *Claims) { c.Pod = &Ref{Name: "going", UID: "going-uid"} }), wantOK: true, wantAud: []string{iss}},
		{name: "bound to a pod deleted a while ago", claims: with(func(c *Claims) { c.Pod = &Ref{Name: "gone", UID: "gone-uid"} }), wantErr: "has been deleted"},
		{name: "bound to a missing pod", claims: with(func(c *Claims) { c.Pod = &Ref{Name: "nope", UID: "x"} }), wantErr: "no longer exists"},
		{name: "bound to a secret", claims: with(func(c *Claims) { c.Secret = &Ref{Name: "s", UID: "secret-uid"} }), wantOK: true, wantAud: []string{iss}},
		{name: "bound to a recreated secret", claims: with(func(c *Claims) { c.Secret = &Ref{Name: "s", UID: "old"} }), wantErr: "does not match"},
		{name: "bound to a node", claims: with(func(c *Claims) { c.Node = &Ref{Name: "n", UID: "node-uid"} }), wantOK: true, wantAud: []string{iss}},
		{name: "bound to a missing node", claims: with(func(c *Claims) { c.Node = &Ref{Name: "m", UID: "x"} }), wantErr: "no longer exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			is := issuer
			if tc.issuer != nil {
				is = tc.issuer
			}
			at := now
			if !tc.issuedAt.IsZero() {
				at = tc.issuedAt
			}
			tok, _, err := is.Issue(tc.claims, at)
			if err != nil {
				t.Fatal(err)
			}
			u, aud, ok, err := a.AuthenticateToken(context.Background(), tok, tc.audiences)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v (err %v), want %v", ok, err, tc.wantOK)
			}
			if tc.wantErr == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if !ok {
				return
			}
			if u.Name != "system:serviceaccount:ns:sa" || u.UID != "sa-uid" || strings.Join(u.Groups, ",") != "system:serviceaccounts,system:serviceaccounts:ns" {
				t.Errorf("user = %+v", u)
			}
			if strings.Join(aud, ",") != strings.Join(tc.wantAud, ",") {
				t.Errorf("audiences = %v, want %v", aud, tc.wantAud)
			}
			for k, v := range tc.wantExtra {
				if got := u.Extra[k]; len(got) != 1 || got[0] != v {
					t.Errorf("extra %s = %v, want [%s]", k, got, v)
				}
			}
			if id := u.Extra[ExtraCredentialID]; len(id) != 1 || !strings.HasPrefix(id[0], "JTI=") {
				t.Errorf("credential id = %v, want JTI=...", id)
			}
		})
	}
}

func TestAuthenticateNotAToken(t *testing.T) {
	a := &Authenticator{Issuers: []string{iss}, Objects: objects{}}
	for _, tok := range []string{"", "abc", "a.b.c", "s3cret-static-token"} {
		if _, _, ok, err := a.AuthenticateToken(context.Background(), tok, nil); ok || err != nil {
			t.Errorf("%q: ok %v err %v, want neither (not a service account token)", tok, ok, err)
		}
	}
}

func TestLegacyToken(t *testing.T) {
	key := newKey(t)
	issuer, _ := NewIssuer(iss, key)
	tok, err := issuer.IssueLegacy("ns", Ref{Name: "sa", UID: "sa-uid"}, "sa-token")
	if err != nil {
		t.Fatal(err)
	}
	secret := func(data string, uid string) objects {
		return objects{
			"serviceaccounts/ns/sa": &corev1.ServiceAccount{ObjectMeta: meta("sa", "ns", uid)},
			"secrets/ns/sa-token":   &corev1.Secret{ObjectMeta: meta("sa-token", "ns", "s"), Data: map[string][]byte{corev1.ServiceAccountTokenKey: []byte(data)}},
		}
	}
	tests := []struct {
		name    string
		objs    objects
		wantErr string
	}{
		{"secret holds the token", secret(tok, "sa-uid"), ""},
		{"secret holds another token", secret("other", "sa-uid"), "does not match secret"},
		{"service account recreated", secret(tok, "new-uid"), "does not match"},
		{"no secret", objects{"serviceaccounts/ns/sa": &corev1.ServiceAccount{ObjectMeta: meta("sa", "ns", "sa-uid")}}, "no longer exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := &Authenticator{Issuers: []string{iss}, Keys: []crypto.PublicKey{key.Public()}, APIAudiences: []string{iss}, Objects: tc.objs}
			u, _, ok, err := a.AuthenticateToken(context.Background(), tok, nil)
			if tc.wantErr == "" {
				if !ok || u.Name != "system:serviceaccount:ns:sa" {
					t.Fatalf("ok %v user %+v err %v", ok, u, err)
				}
				return
			}
			if ok || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("ok %v err %v, want an error containing %q", ok, err, tc.wantErr)
			}
		})
	}
}

func writePEM(t *testing.T, blocks ...*pem.Block) string {
	t.Helper()
	var b []byte
	for _, bl := range blocks {
		b = append(b, pem.EncodeToMemory(bl)...)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKeys(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	pub, _ := x509.MarshalPKIXPublicKey(ec.Public())

	for name, path := range map[string]string{
		"EC PRIVATE KEY": writePEM(t, &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"PRIVATE KEY":    writePEM(t, &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	} {
		k, err := LoadSigningKey(path)
		if err != nil || !ec.PublicKey.Equal(k.Public()) {
			t.Errorf("signing key from %s: %v", name, err)
		}
		iss, err := NewIssuer("i", k)
		if err != nil {
			t.Fatalf("issuer with an ECDSA key: %v", err)
		}
		tok, _, err := iss.Issue(Claims{Namespace: "ns", ServiceAccount: Ref{Name: "sa"}, Audiences: []string{"i"}, Expiration: time.Hour}, time.Now())
		if err != nil || !strings.HasPrefix(tok, "eyJ") {
			t.Errorf("ES256 token %q: %v", tok, err)
		}
	}
	keys, err := LoadPublicKeys(writePEM(t, &pem.Block{Type: "PUBLIC KEY", Bytes: pub}, &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	if err != nil || len(keys) != 2 {
		t.Errorf("public keys from a public and a private key: %d, %v", len(keys), err)
	}

	bad := []struct {
		name, path, want string
		load             func(string) error
	}{
		{"signing key missing", "/nonexistent/sa.key", "no such file", func(p string) error { _, err := LoadSigningKey(p); return err }},
		{"signing key not PEM", writePEM(t), "holds no PEM private key", func(p string) error { _, err := LoadSigningKey(p); return err }},
		{"signing key is a public key", writePEM(t, &pem.Block{Type: "PUBLIC KEY", Bytes: pub}), "holds no PEM private key", func(p string) error { _, err := LoadSigningKey(p); return err }},
		{"key file empty", writePEM(t), "holds no PEM public keys", func(p string) error { _, err := LoadPublicKeys(p); return err }},
		{"key file garbage", writePEM(t, &pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")}), "key file", func(p string) error { _, err := LoadPublicKeys(p); return err }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.load(tc.path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestEnsureKeyPairKeepsTheKey(t *testing.T) {
	dir := t.TempDir()
	p1, err := EnsureKeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	k1, _ := LoadSigningKey(p1)
	p2, err := EnsureKeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := LoadSigningKey(p2)
	if p1 != p2 || !k1.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k2.Public()) {
		t.Error("a second EnsureKeyPair replaced the key: tokens issued before a restart would stop working")
	}
	pubs, err := LoadPublicKeys(filepath.Join(dir, "sa.pub"))
	if err != nil || len(pubs) != 1 || !k1.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pubs[0]) {
		t.Errorf("sa.pub does not hold the signing key's public half: %v", err)
	}
}
