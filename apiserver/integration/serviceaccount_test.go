package integration

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/pkg/serviceaccount"
	"navarch.dev/apiserver/testserver"
)

// bearerClient is a clientset that authenticates with token only.
func bearerClient(t *testing.T, token string) kubernetes.Interface {
	t.Helper()
	cfg := rest.AnonymousClientConfig(shared.Config)
	cfg.BearerToken = token
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// whoami asks the server who the token's bearer is (kubectl auth whoami).
func whoami(ctx context.Context, cs kubernetes.Interface) (authenticationv1.UserInfo, error) {
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}

func requestToken(ctx context.Context, cs kubernetes.Interface, ns, sa string, spec authenticationv1.TokenRequestSpec) (*authenticationv1.TokenRequest, error) {
	return cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
}

func makeServiceAccountAndPod(t *testing.T, ns, sa, pod string) (*corev1.ServiceAccount, *corev1.Pod) {
	t.Helper()
	ctx := testContext(t)
	cs := shared.Client
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	s, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: pod},
		Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func int64p(v int64) *int64 { return &v }

// A token from the serviceaccounts/token subresource authenticates as the
// service account, with the pod it is bound to, until the pod is deleted.
func TestServiceAccountTokenBoundToPod(t *testing.T) {
	ctx := testContext(t)
	sa, pod := makeServiceAccountAndPod(t, "sa-bound", "builder", "runner")
	tr, err := requestToken(ctx, shared.Client, "sa-bound", "builder", authenticationv1.TokenRequestSpec{
		ExpirationSeconds: int64p(3600),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "runner"},
	})
	if err != nil {
		t.Fatalf("TokenRequest: %v", err)
	}
	if tr.Status.Token == "" {
		t.Fatal("TokenRequest returned no token")
	}
	if got := time.Until(tr.Status.ExpirationTimestamp.Time); got < 58*time.Minute || got > 61*time.Minute {
		t.Errorf("token expires in %v, want about 1h", got)
	}
	if !slices.Equal(tr.Spec.Audiences, shared.Options.APIAudiences) {
		t.Errorf("defaulted audiences = %v, want the API audiences %v", tr.Spec.Audiences, shared.Options.APIAudiences)
	}

	cs := bearerClient(t, tr.Status.Token)
	u, err := whoami(ctx, cs)
	if err != nil {
		t.Fatalf("request with the token: %v", err)
	}
	if u.Username != "system:serviceaccount:sa-bound:builder" || u.UID != string(sa.UID) {
		t.Errorf("user = %q uid %q, want system:serviceaccount:sa-bound:builder uid %s", u.Username, u.UID, sa.UID)
	}
	for _, g := range []string{"system:serviceaccounts", "system:serviceaccounts:sa-bound", "system:authenticated"} {
		if !slices.Contains(u.Groups, g) {
			t.Errorf("groups %v lack %s", u.Groups, g)
		}
	}
	if got := u.Extra[serviceaccount.ExtraPodName]; len(got) != 1 || got[0] != "runner" {
		t.Errorf("extra pod-name = %v, want [runner]", got)
	}
	if got := u.Extra[serviceaccount.ExtraPodUID]; len(got) != 1 || got[0] != string(pod.UID) {
		t.Errorf("extra pod-uid = %v, want [%s]", got, pod.UID)
	}
	if _, err := cs.CoreV1().Pods("sa-bound").Get(ctx, "runner", metav1.GetOptions{}); err != nil {
		t.Errorf("get pod with the token: %v", err)
	}

	// TokenReview, as a kubelet or webhook would ask.
	rev, err := shared.Client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: tr.Status.Token}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenReview: %v", err)
	}
	if !rev.Status.Authenticated || rev.Status.User.Username != "system:serviceaccount:sa-bound:builder" {
		t.Errorf("TokenReview status = %+v, want authenticated as the service account", rev.Status)
	}
	if !slices.Equal(rev.Status.Audiences, shared.Options.APIAudiences) {
		t.Errorf("TokenReview audiences = %v, want %v", rev.Status.Audiences, shared.Options.APIAudiences)
	}

	if err := shared.Client.CoreV1().Pods("sa-bound").Delete(ctx, "runner", metav1.DeleteOptions{GracePeriodSeconds: int64p(0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(ctx, cs); !apierrors.IsUnauthorized(err) {
		t.Errorf("token bound to a deleted pod: err = %v, want 401 Unauthorized", err)
	}
	rev, err = shared.Client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: tr.Status.Token}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rev.Status.Authenticated || rev.Status.Error == "" {
		t.Errorf("TokenReview of a token bound to a deleted pod = %+v, want unauthenticated with an error", rev.Status)
	}
}

func TestServiceAccountTokenRejected(t *testing.T) {
	ctx := testContext(t)
	makeServiceAccountAndPod(t, "sa-reject", "app", "p")

	// A token for another audience works for that audience only.
	tr, err := requestToken(ctx, shared.Client, "sa-reject", "app", authenticationv1.TokenRequestSpec{Audiences: []string{"vault"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(ctx, bearerClient(t, tr.Status.Token)); !apierrors.IsUnauthorized(err) {
		t.Errorf("token for audience vault at the apiserver: err = %v, want 401", err)
	}
	rev, err := shared.Client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: tr.Status.Token, Audiences: []string{"vault", "other"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rev.Status.Authenticated || !slices.Equal(rev.Status.Audiences, []string{"vault"}) {
		t.Errorf("TokenReview for audience vault = %+v, want authenticated for [vault]", rev.Status)
	}

	// Tokens signed with the server's own key but expired, or signed with
	// another key.
	key, err := serviceaccount.LoadSigningKey(filepath.Join(shared.Options.CertDir, "sa.key"))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := serviceaccount.NewIssuer(shared.Options.ServiceAccountIssuers[0], key)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := shared.Client.CoreV1().ServiceAccounts("sa-reject").Get(ctx, "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	claims := serviceaccount.Claims{Namespace: "sa-reject", ServiceAccount: serviceaccount.Ref{Name: "app", UID: string(sa.UID)}, Audiences: shared.Options.APIAudiences, Expiration: 10 * time.Minute}
	expired, _, err := iss.Issue(claims, time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	fresh, _, err := iss.Issue(claims, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherDir := t.TempDir()
	otherPath, err := serviceaccount.EnsureKeyPair(otherDir)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := serviceaccount.LoadSigningKey(otherPath)
	otherIss, _ := serviceaccount.NewIssuer(shared.Options.ServiceAccountIssuers[0], otherKey)
	forged, _, err := otherIss.Issue(claims, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(ctx, bearerClient(t, fresh)); err != nil {
		t.Fatalf("a fresh token signed with the server's key: %v", err)
	}
	for name, tok := range map[string]string{"expired": expired, "signed by another key": forged, "not a JWT": "abc.def"} {
		if _, err := whoami(ctx, bearerClient(t, tok)); !apierrors.IsUnauthorized(err) {
			t.Errorf("%s token: err = %v, want 401", name, err)
		}
	}

	// Deleting the service account ends its tokens.
	if err := shared.Client.CoreV1().ServiceAccounts("sa-reject").Delete(ctx, "app", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(ctx, bearerClient(t, fresh)); !apierrors.IsUnauthorized(err) {
		t.Errorf("token of a deleted service account: err = %v, want 401", err)
	}
}

func TestTokenRequestBadInput(t *testing.T) {
	ctx := testContext(t)
	makeServiceAccountAndPod(t, "sa-bad", "app", "mine")
	if _, err := shared.Client.CoreV1().ServiceAccounts("sa-bad").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod, err := shared.Client.CoreV1().Pods("sa-bad").Get(ctx, "mine", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sa   string
		spec authenticationv1.TokenRequestSpec
		is   func(error) bool
		code int32
	}{
		{"too short", "app", authenticationv1.TokenRequestSpec{ExpirationSeconds: int64p(60)}, apierrors.IsInvalid, 422},
		{"too long", "app", authenticationv1.TokenRequestSpec{ExpirationSeconds: int64p(1<<32 + 1)}, apierrors.IsInvalid, 422},
		{"unsupported bound kind", "app", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "ConfigMap", APIVersion: "v1", Name: "x"}}, apierrors.IsBadRequest, 400},
		{"missing bound pod", "app", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "nope"}}, apierrors.IsNotFound, 404},
		{"pod of another service account", "other", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "mine"}}, apierrors.IsBadRequest, 400},
		{"stale pod UID", "app", authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "mine", UID: pod.UID + "x"}}, apierrors.IsConflict, 409},
		{"missing service account", "ghost", authenticationv1.TokenRequestSpec{}, apierrors.IsNotFound, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := requestToken(ctx, shared.Client, "sa-bad", tc.sa, tc.spec)
			if !tc.is(err) {
				t.Fatalf("err = %v, want a %d Status", err, tc.code)
			}
			if st, ok := err.(apierrors.APIStatus); !ok || st.Status().Code != tc.code {
				t.Errorf("code = %v, want %d", err, tc.code)
			}
		})
	}
}

// A legacy token kept in a kubernetes.io/service-account-token Secret works
// while the Secret holds it.
func TestLegacySecretToken(t *testing.T) {
	ctx := testContext(t)
	sa, _ := makeServiceAccountAndPod(t, "sa-legacy", "old", "p")
	key, err := serviceaccount.LoadSigningKey(filepath.Join(shared.Options.CertDir, "sa.key"))
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := serviceaccount.NewIssuer(shared.Options.ServiceAccountIssuers[0], key)
	tok, err := iss.IssueLegacy("sa-legacy", serviceaccount.Ref{Name: "old", UID: string(sa.UID)}, "old-token")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(ctx, bearerClient(t, tok)); !apierrors.IsUnauthorized(err) {
		t.Errorf("legacy token without its secret: err = %v, want 401", err)
	}
	_, err = shared.Client.CoreV1().Secrets("sa-legacy").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "old-token", Annotations: map[string]string{corev1.ServiceAccountNameKey: "old"}},
		Type:       corev1.SecretTypeServiceAccountToken,
		Data:       map[string][]byte{corev1.ServiceAccountTokenKey: []byte(tok)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := whoami(ctx, bearerClient(t, tok))
	if err != nil || u.Username != "system:serviceaccount:sa-legacy:old" {
		t.Fatalf("legacy token: user %q, err %v", u.Username, err)
	}
	if err := shared.Client.CoreV1().Secrets("sa-legacy").Delete(ctx, "old-token", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(ctx, bearerClient(t, tok)); !apierrors.IsUnauthorized(err) {
		t.Errorf("legacy token after its secret is deleted: err = %v, want 401", err)
	}
}

// An operator's own keys, issuer and audiences
// (--service-account-signing-key-file, --service-account-key-file,
// --service-account-issuer, --api-audiences), and a key rotation: tokens
// of the old key keep working while its public key is listed.
func TestServiceAccountFlags(t *testing.T) {
	dir := t.TempDir()
	oldKey, err := serviceaccount.EnsureKeyPair(filepath.Join(dir, "old"))
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := serviceaccount.EnsureKeyPair(filepath.Join(dir, "new"))
	if err != nil {
		t.Fatal(err)
	}
	ts := testserver.Start(t, func(o *server.Options) {
		o.ServiceAccountSigningKeyFile = newKey
		o.ServiceAccountKeyFiles = []string{filepath.Join(dir, "new", "sa.pub"), filepath.Join(dir, "old", "sa.pub")}
		o.ServiceAccountIssuers = []string{"https://issuer.example", "https://old-issuer.example"}
		o.APIAudiences = []string{"navarch"}
	})
	ctx := testContext(t)
	if _, err := ts.Client.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ops"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := requestToken(ctx, ts.Client, "default", "ops", authenticationv1.TokenRequestSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.Spec.Audiences, []string{"navarch"}) {
		t.Errorf("default audiences = %v, want [navarch]", tr.Spec.Audiences)
	}
	sa, err := ts.Client.CoreV1().ServiceAccounts("default").Get(ctx, "ops", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := serviceaccount.LoadSigningKey(oldKey)
	oldIss, _ := serviceaccount.NewIssuer("https://old-issuer.example", k)
	oldTok, _, err := oldIss.Issue(serviceaccount.Claims{Namespace: "default", ServiceAccount: serviceaccount.Ref{Name: "ops", UID: string(sa.UID)}, Audiences: []string{"navarch"}, Expiration: time.Hour}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"issued": tr.Status.Token, "old key and issuer": oldTok} {
		rev, err := ts.Client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: tok}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rev.Status.Authenticated || rev.Status.User.Username != "system:serviceaccount:default:ops" {
			t.Errorf("%s token: review %+v, want authenticated", name, rev.Status)
		}
	}

	bad := []struct {
		name string
		set  func(o *server.Options)
		want string
	}{
		{"missing signing key", func(o *server.Options) { o.ServiceAccountSigningKeyFile = filepath.Join(dir, "nope.key") }, "--service-account-signing-key-file"},
		{"signing key is a public key", func(o *server.Options) { o.ServiceAccountSigningKeyFile = filepath.Join(dir, "new", "sa.pub") }, "holds no PEM private key"},
		{"empty key file", func(o *server.Options) { o.ServiceAccountKeyFiles = []string{writeFile(t, "")} }, "--service-account-key-file"},
		{"empty issuer", func(o *server.Options) { o.ServiceAccountIssuers = []string{""} }, "--service-account-issuer"},
		{"max expiration under an hour", func(o *server.Options) { o.ServiceAccountMaxTokenExpiration = time.Minute }, "--service-account-max-token-expiration"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			ts, err := testserver.StartE(t.TempDir(), tc.set)
			if err == nil {
				ts.Stop()
				t.Fatal("server started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
