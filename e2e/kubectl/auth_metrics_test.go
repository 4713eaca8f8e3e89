package kubectl

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"navarch.dev/apiserver/testserver/kubeletstats"
)

// kubectl create token, auth whoami and auth can-i: TokenRequest,
// SelfSubjectReview and SelfSubjectAccessReview.
func TestTokenWhoamiCanI(t *testing.T) {
	ok(t, "", "create", "namespace", "kubectl-auth")
	ok(t, "", "create", "serviceaccount", "robot", "-n", "kubectl-auth")
	token := strings.TrimSpace(ok(t, "", "create", "token", "robot", "-n", "kubectl-auth", "--duration", "20m"))
	if strings.Count(token, ".") != 2 {
		t.Fatalf("kubectl create token printed %q, want a JWT", token)
	}
	// A kubeconfig with the token only: with the admin's client
	// certificate beside it the certificate would decide, as upstream.
	asRobot := tokenKubeconfig(t, token)
	out := ok(t, "", "--kubeconfig", asRobot, "auth", "whoami")
	if !strings.Contains(out, "system:serviceaccount:kubectl-auth:robot") || !strings.Contains(out, "system:serviceaccounts:kubectl-auth") {
		t.Errorf("auth whoami with the token:\n%s", out)
	}
	if got := ok(t, "", "--kubeconfig", asRobot, "auth", "can-i", "create", "deployments", "-n", "kubectl-auth"); got != "yes\n" {
		t.Errorf("auth can-i = %q, want yes (AlwaysAllow)", got)
	}
	if out := ok(t, "", "--kubeconfig", asRobot, "auth", "can-i", "--list", "-n", "kubectl-auth"); !strings.Contains(out, "*.*") {
		t.Errorf("auth can-i --list:\n%s", out)
	}
	// A review created from a manifest prints its answer.
	sar := `apiVersion: authorization.k8s.io/v1
kind: SubjectAccessReview
spec:
  user: jane
  resourceAttributes:
    namespace: kubectl-auth
    verb: delete
    resource: pods
`
	if out := ok(t, sar, "create", "-f", "-", "-o", "jsonpath={.status.allowed}"); out != "true" {
		t.Errorf("SubjectAccessReview from a manifest: status.allowed = %q, want true", out)
	}
	if r := kubectl(t, "", "create", "token", "robot", "-n", "kubectl-auth", "--duration", "1m"); r.code == 0 || !strings.Contains(r.err, "may not specify a duration less than 10 minutes") {
		t.Errorf("create token --duration 1m: exit %d, stderr %q", r.code, r.err)
	}
	if r := kubectl(t, "", "--kubeconfig", tokenKubeconfig(t, token+"x"), "get", "pods", "-n", "kubectl-auth"); r.code == 0 || !strings.Contains(r.err, "error: You must be logged in to the server") {
		t.Errorf("a tampered token: exit %d, stderr %q", r.code, r.err)
	}
}

// tokenKubeconfig writes a kubeconfig for the test server that
// authenticates with token alone.
func tokenKubeconfig(t *testing.T, token string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["navarch"] = &clientcmdapi.Cluster{Server: ts.Config.Host, CertificateAuthorityData: ts.Config.CAData}
	cfg.AuthInfos["robot"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["robot"] = &clientcmdapi.Context{Cluster: "navarch", AuthInfo: "robot"}
	cfg.CurrentContext = "robot"
	path := filepath.Join(t.TempDir(), "robot.conf")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTop(t *testing.T) {
	cs := ts.Client
	k := kubeletstats.Start(t, "top-node", kubeletstats.Usage{MilliCPU: 1000, Memory: 1 << 30})
	kubeletstats.RegisterNode(t, cs, "top-node", nil, k.Port(), corev1.ConditionTrue)
	ok(t, "", "create", "namespace", "kubectl-top")
	pod := kubeletstats.CreatePod(t, cs, "kubectl-top", "busy", "top-node", nil, "c")
	t.Cleanup(func() { cs.CoreV1().Namespaces().Delete(context.Background(), "kubectl-top", metav1.DeleteOptions{}) })
	k.SetPods(kubeletstats.Pod{Name: "busy", Namespace: "kubectl-top", UID: string(pod.UID), Containers: []kubeletstats.Container{
		{Name: "c", Usage: kubeletstats.Usage{MilliCPU: 300, Memory: 100 << 20}},
	}})

	out := ok(t, "", "top", "node", "top-node")
	if h := header(out); strings.Join(h, ",") != "NAME,CPU(cores),CPU(%),MEMORY(bytes),MEMORY(%)" {
		t.Errorf("top node header %q", h)
	}
	if f := strings.Fields(strings.Split(out, "\n")[1]); len(f) != 5 || f[0] != "top-node" || f[3] != "1024Mi" || f[4] != "12%" {
		t.Errorf("top node row %q (1Gi of 8Gi)", f)
	}
	// kubectl get prints the server's Table of the metrics kinds.
	out = ok(t, "", "get", "pods.metrics.k8s.io", "-n", "kubectl-top")
	if h := header(out); strings.Join(h, ",") != "NAME,CPU,MEMORY,WINDOW" || !strings.HasPrefix(strings.Split(out, "\n")[1], "busy ") {
		t.Errorf("get pods.metrics.k8s.io:\n%s", out)
	}
	out = ok(t, "", "top", "pod", "-n", "kubectl-top", "--containers")
	if f := strings.Fields(strings.Split(out, "\n")[1]); len(f) != 4 || f[0] != "busy" || f[1] != "c" || f[3] != "100Mi" {
		t.Errorf("top pod --containers:\n%s", out)
	}
}
