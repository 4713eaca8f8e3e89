package cluster

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// clusterCA is the CA of make up's cluster (the apiserver's generated PKI).
const clusterCA = "/var/lib/navarch/apiserver/pki/ca.crt"

// saPod is a plain pod: nothing about service accounts in it.
const saPod = `apiVersion: v1
kind: Pod
metadata:
  name: sa-check
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
`

// checkServiceAccountToken creates a namespace and, at once, a plain pod in
// it, and checks what the pod sees: the token, the cluster CA and its
// namespace under /var/run/secrets/kubernetes.io/serviceaccount, a token
// the apiserver accepts as the namespace's default account, and the
// apiserver's Service address in KUBERNETES_SERVICE_HOST.
func checkServiceAccountToken(t *testing.T) {
	t.Helper()
	const ns = "e2e-serviceaccount"
	navctl(t, "delete", "namespace", ns, "--ignore-not-found", "--wait=true")
	manifest := filepath.Join(t.TempDir(), "pod.yaml")
	if err := os.WriteFile(manifest, []byte(saPod), 0o644); err != nil {
		t.Fatal(err)
	}
	// Right after the namespace: the default ServiceAccount and the
	// kube-root-ca.crt ConfigMap come from the controller-manager a moment
	// later, and the pod is admitted and started all the same.
	navctl(t, "create", "namespace", ns)
	navctl(t, "apply", "-n", ns, "-f", manifest)
	defer navctl(t, "delete", "namespace", ns, "--wait=false")
	navctl(t, "wait", "-n", ns, "--for=condition=Ready", "pod/sa-check", "--timeout=2m")

	spec := navctl(t, "get", "pod", "-n", ns, "sa-check", "-o",
		`jsonpath={.spec.serviceAccountName} {.spec.volumes[*].name} {.spec.containers[0].volumeMounts[*].mountPath}`)
	if !regexp.MustCompile(`^default kube-api-access-[a-z0-9]{5} /var/run/secrets/kubernetes.io/serviceaccount$`).MatchString(spec) {
		t.Errorf("pod account, volumes and mounts %q; want default, a kube-api-access-xxxxx volume mounted at /var/run/secrets/kubernetes.io/serviceaccount", spec)
	}

	const dir = "/var/run/secrets/kubernetes.io/serviceaccount/"
	cat := func(file string) string {
		return navctl(t, "exec", "-n", ns, "sa-check", "--", "cat", dir+file)
	}
	if got := cat("namespace"); got != ns {
		t.Errorf("%snamespace = %q, want %q", dir, got, ns)
	}
	ca, err := os.ReadFile(clusterCA)
	if err != nil {
		t.Fatal(err)
	}
	if got := cat("ca.crt"); got != string(ca) || !strings.Contains(got, "BEGIN CERTIFICATE") {
		t.Errorf("%sca.crt is not the cluster CA %s:\n%s", dir, clusterCA, got)
	}

	token := cat("token")
	cfg, err := clientcmd.BuildConfigFromFlags("", adminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	review, err := client.AuthenticationV1().TokenReviews().Create(ctx,
		&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenReview of the pod's token: %v", err)
	}
	if want := "system:serviceaccount:" + ns + ":default"; !review.Status.Authenticated || review.Status.User.Username != want {
		t.Errorf("TokenReview of the pod's token: authenticated %v as %q (%s), want %s",
			review.Status.Authenticated, review.Status.User.Username, review.Status.Error, want)
	}

	// The apiserver's Service, from a namespace other than default.
	apiIP := navctl(t, "get", "service", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP}")
	env := navctl(t, "exec", "-n", ns, "sa-check", "--", "env")
	for _, want := range []string{"KUBERNETES_SERVICE_HOST=" + apiIP, "KUBERNETES_SERVICE_PORT=443"} {
		if !strings.Contains(env, want+"\n") {
			t.Errorf("pod environment lacks %s:\n%s", want, env)
		}
	}
}
