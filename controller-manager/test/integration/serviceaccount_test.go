package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/testserver"
)

// TestPodsGetServiceAccountTokens: with the whole admission chain, a pod
// created right after its namespace names the "default" account the
// serviceaccount controller makes, and gets the kube-api-access volume whose
// ca.crt comes from the kube-root-ca.crt ConfigMap the publisher keeps.
func TestPodsGetServiceAccountTokens(t *testing.T) {
	ts := testserver.Start(t, testserver.WithServiceAccountAdmission)
	startControllers(t, ts, "serviceaccount", "root-ca-cert-publisher")
	ctx := context.Background()
	const ns = "sa-tokens"
	createNamespace(t, ts.Client, ns)

	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Spec: v1.PodSpec{Containers: container()}}
	got, err := ts.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("pod created right after its namespace: %v", err)
	}
	if got.Spec.ServiceAccountName != "default" || len(got.Spec.Volumes) != 1 || !strings.HasPrefix(got.Spec.Volumes[0].Name, "kube-api-access-") {
		t.Fatalf("pod account %q volumes %+v, want default and a kube-api-access- volume", got.Spec.ServiceAccountName, got.Spec.Volumes)
	}

	// Without --root-ca-file the publisher hands out the CA of its own
	// kubeconfig: the cluster CA.
	want := string(ts.Server.CA().CertPEM)
	for _, n := range []string{ns, "default", "kube-system"} {
		poll(t, "kube-root-ca.crt in "+n, func(ctx context.Context) (bool, error) {
			cm, err := ts.Client.CoreV1().ConfigMaps(n).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			if cm.Data["ca.crt"] != want {
				return false, fmt.Errorf("ca.crt %q, want the cluster CA", cm.Data["ca.crt"])
			}
			return true, nil
		})
	}
}
