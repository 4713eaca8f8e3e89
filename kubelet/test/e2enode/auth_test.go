package e2enode

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/internal/nodetest"
	"navarch.dev/kubelet/pkg/server"
)

// TestTokenAuthAndProjectedToken runs a kubelet whose API port takes
// bearer tokens (TokenReview) and authorizes with SubjectAccessReview
// against the real apiserver, calls it with a service account token, and
// runs a pod whose projected volume holds a bound token the apiserver
// accepts for the volume's audience.
func TestTokenAuthAndProjectedToken(t *testing.T) {
	nodetest.Runtime(t)
	ts := testserver.Start(t)
	client := ts.Client
	ctx := context.Background()
	ensureLeaseNamespace(t, client)
	if _, err := client.CoreV1().ServiceAccounts("default").Create(ctx, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	node := testNodeName("e2eauth")
	cfg := nodeConfig(t, node)
	port := freePort(t)
	cfg.Port, cfg.APIAddr = port, fmt.Sprintf("127.0.0.1:%d", port)
	cfg.ClientCAFile = filepath.Join(ts.Options.CertDir, "ca.crt")
	cfg.AuthenticationTokenWebhook, cfg.AuthorizationMode = true, server.AuthorizationWebhook
	cfg.HealthzAddr, cfg.ReadOnlyAddr = "", ""
	runKubelet(t, client, cfg)

	exp := int64(600)
	tr, err := client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "reader", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	call := func(token string) (int, error) {
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
		req, _ := http.NewRequest("GET", fmt.Sprintf("https://127.0.0.1:%d/pods", port), nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	poll(t, "the kubelet API answering the service account's token", func() (bool, error) {
		code, err := call(tr.Status.Token)
		return code == 200, err
	})
	for _, tt := range []struct {
		name, token string
		want        int
	}{
		{"a token the apiserver does not know", "not-a-token", 401},
		{"no credentials", "", 401},
	} {
		if code, err := call(tt.token); err != nil || code != tt.want {
			t.Errorf("%s: GET /pods = %d, %v; want %d", tt.name, code, err, tt.want)
		}
	}
	// The apiserver (client certificate) still reaches the kubelet.
	if _, err := client.CoreV1().RESTClient().Get().Resource("nodes").Name(node).SubResource("proxy", "pods").DoRaw(ctx); err != nil {
		t.Errorf("nodes/proxy/pods: %v", err)
	}

	// A projected service account token for audience "vault".
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "tok", Namespace: "default"},
		Spec: v1.PodSpec{
			NodeName: node, ServiceAccountName: "reader", TerminationGracePeriodSeconds: int64p(0),
			Containers: []v1.Container{{Name: "main", Image: nodetest.BusyboxImage, ImagePullPolicy: v1.PullNever,
				Command: []string{"sleep", "3600"}, VolumeMounts: []v1.VolumeMount{{Name: "vault", MountPath: "/var/run/vault"}}}},
			Volumes: []v1.Volume{{Name: "vault", VolumeSource: v1.VolumeSource{Projected: &v1.ProjectedVolumeSource{Sources: []v1.VolumeProjection{
				{ServiceAccountToken: &v1.ServiceAccountTokenProjection{Path: "token", Audience: "vault", ExpirationSeconds: &exp}},
			}}}}},
		},
	}
	created, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePod(t, client, "default", "tok") })
	waitPod(t, client, "default", "tok", "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })
	b, err := os.ReadFile(filepath.Join(cfg.PodsDir, string(created.UID), "volumes", "kubernetes.io~projected", "vault", "token"))
	if err != nil || len(b) == 0 {
		t.Fatalf("projected token: %q, %v", b, err)
	}
	review, err := client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{
		Token: string(b), Audiences: []string{"vault"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := review.Status
	if !st.Authenticated || st.User.Username != "system:serviceaccount:default:reader" || len(st.Audiences) != 1 || st.Audiences[0] != "vault" {
		t.Errorf("token review of the projected token = %+v, want the reader service account for audience vault", st)
	}
	if name := st.User.Extra["authentication.kubernetes.io/pod-name"]; len(name) != 1 || name[0] != "tok" {
		t.Errorf("token bound to pod %v, want tok", name)
	}
}
