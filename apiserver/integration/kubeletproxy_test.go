package integration

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// fakeKubelet is a TLS server that records what the apiserver asked and
// with which client certificate.
type fakeKubelet struct {
	srv *httptest.Server
	mu  sync.Mutex
	// requests are "<client CN> <method> <path>?<query>".
	requests []string
}

func startFakeKubelet(t *testing.T, clientCA string) *fakeKubelet {
	t.Helper()
	f := &fakeKubelet{}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := "<none>"
		if len(r.TLS.VerifiedChains) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		f.mu.Lock()
		f.requests = append(f.requests, cn+" "+r.Method+" "+r.URL.RequestURI())
		f.mu.Unlock()
		io.WriteString(w, "from kubelet: "+r.URL.Path+"\n")
	}))
	pem, err := os.ReadFile(clientCA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	f.srv.TLS = &tls.Config{ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKubelet) port() int32 {
	_, p, _ := net.SplitHostPort(f.srv.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	return int32(n)
}

func (f *fakeKubelet) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return ""
	}
	return f.requests[len(f.requests)-1]
}

func createNode(t *testing.T, cs kubernetes.Interface, name string, port int32) {
	t.Helper()
	ctx := context.Background()
	n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

func TestKubeletProxyErrors(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := int32(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	createNode(t, cs, "proxy-err-node", closed)

	two := makePod("two", nil)
	two.Spec.Containers = append(two.Spec.Containers, corev1.Container{Name: "side", Image: "busybox:1.36"})
	unscheduled := makePod("unscheduled", nil)
	onMissing := makePod("on-missing-node", nil)
	onMissing.Spec.NodeName = "no-such-node"
	down := makePod("kubelet-down", nil)
	down.Spec.NodeName = "proxy-err-node"
	for _, p := range []*corev1.Pod{two, unscheduled, onMissing, down} {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rc := cs.CoreV1().RESTClient()
	tests := []struct {
		name    string
		do      func() error
		code    int
		message string
	}{
		{"log of an unscheduled pod", func() error {
			return streamErr(cs.CoreV1().Pods(ns).GetLogs("unscheduled", &corev1.PodLogOptions{}).Stream(ctx))
		}, 400, "pod unscheduled does not have a host assigned"},
		{"log without a container of a two-container pod", func() error {
			return streamErr(cs.CoreV1().Pods(ns).GetLogs("two", &corev1.PodLogOptions{}).Stream(ctx))
		}, 400, "a container name must be specified for pod two, choose one of: [app side]"},
		{"log of an unknown container", func() error {
			return streamErr(cs.CoreV1().Pods(ns).GetLogs("two", &corev1.PodLogOptions{Container: "nope"}).Stream(ctx))
		}, 400, "container nope is not valid for pod two"},
		{"log of a missing pod", func() error {
			return streamErr(cs.CoreV1().Pods(ns).GetLogs("missing", &corev1.PodLogOptions{}).Stream(ctx))
		}, 404, `pods "missing" not found`},
		{"log both since options", func() error {
			s, st := int64(5), metav1.Now()
			return streamErr(cs.CoreV1().Pods(ns).GetLogs("kubelet-down", &corev1.PodLogOptions{SinceSeconds: &s, SinceTime: &st}).Stream(ctx))
		}, 400, "at most one of sinceTime or sinceSeconds"},
		{"log on a missing node", func() error {
			return streamErr(cs.CoreV1().Pods(ns).GetLogs("on-missing-node", &corev1.PodLogOptions{}).Stream(ctx))
		}, 404, `nodes "no-such-node" not found`},
		{"log with the kubelet down", func() error {
			return streamErr(cs.CoreV1().Pods(ns).GetLogs("kubelet-down", &corev1.PodLogOptions{}).Stream(ctx))
		}, 500, "error dialing backend"},
		{"exec of an unscheduled pod", func() error {
			return rc.Post().Namespace(ns).Resource("pods").Name("unscheduled").SubResource("exec").Param("command", "ls").Param("stdout", "true").Do(ctx).Error()
		}, 400, "pod unscheduled does not have a host assigned"},
		{"exec without a command", func() error {
			return rc.Post().Namespace(ns).Resource("pods").Name("kubelet-down").SubResource("exec").Param("stdout", "true").Do(ctx).Error()
		}, 400, "you must specify at least one command for the container"},
		{"exec without an upgrade", func() error {
			return rc.Post().Namespace(ns).Resource("pods").Name("kubelet-down").SubResource("exec").Param("command", "ls").Param("stdout", "true").Do(ctx).Error()
		}, 400, "Upgrade request required"},
		{"portforward of an unscheduled pod", func() error {
			return rc.Post().Namespace(ns).Resource("pods").Name("unscheduled").SubResource("portforward").Do(ctx).Error()
		}, 400, "pod unscheduled does not have a host assigned"},
		{"attach to an unknown container", func() error {
			return rc.Post().Namespace(ns).Resource("pods").Name("two").SubResource("attach").Param("container", "x").Do(ctx).Error()
		}, 400, "container x is not valid for pod two"},
		{"proxy to a missing node", func() error {
			return rc.Get().Resource("nodes").Name("no-such-node").SubResource("proxy", "pods").Do(ctx).Error()
		}, 404, `nodes "no-such-node" not found`},
		{"proxy with the kubelet down", func() error {
			return rc.Get().Resource("nodes").Name("proxy-err-node").SubResource("proxy", "healthz").Do(ctx).Error()
		}, 500, "error dialing backend"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			var se apierrors.APIStatus
			if !asStatus(err, &se) {
				t.Fatalf("error = %v, want a Status %d", err, tc.code)
			}
			if int(se.Status().Code) != tc.code || !strings.Contains(se.Status().Message, tc.message) {
				t.Errorf("status = %d %q, want %d containing %q", se.Status().Code, se.Status().Message, tc.code, tc.message)
			}
		})
	}
}

// streamErr closes a successful stream and returns the error.
func streamErr(rc io.ReadCloser, err error) error {
	if rc != nil {
		rc.Close()
	}
	return err
}

func asStatus(err error, out *apierrors.APIStatus) bool {
	s, ok := err.(apierrors.APIStatus)
	if ok {
		*out = s
	}
	return ok
}

func TestKubeletProxyReachesTheKubelet(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	kubelet := startFakeKubelet(t, filepath.Join(shared.Options.CertDir, "ca.crt"))
	createNode(t, cs, "proxy-ok-node", kubelet.port())
	p := makePod("web", nil)
	p.Spec.NodeName = "proxy-ok-node"
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tail := int64(2)
	out, err := cs.CoreV1().Pods(ns).GetLogs("web", &corev1.PodLogOptions{TailLines: &tail, Timestamps: true}).DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "from kubelet: /containerLogs/"+ns+"/web/app\n" {
		t.Errorf("logs = %q", out)
	}
	if got, want := kubelet.last(), "kube-apiserver-kubelet-client GET /containerLogs/"+ns+"/web/app?tailLines=2&timestamps=true"; got != want {
		t.Errorf("kubelet saw %q, want %q", got, want)
	}
	out, err = cs.CoreV1().RESTClient().Get().Resource("nodes").Name("proxy-ok-node").SubResource("proxy", "stats", "summary").Param("x", "1").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "from kubelet: /stats/summary\n" || kubelet.last() != "kube-apiserver-kubelet-client GET /stats/summary?x=1" {
		t.Errorf("nodes/proxy: body %q, kubelet saw %q", out, kubelet.last())
	}
}

func TestKubeletSubresourcesInDiscovery(t *testing.T) {
	list, err := shared.Client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	verbs := map[string]string{}
	for _, r := range list.APIResources {
		verbs[r.Name] = strings.Join(r.Verbs, ",")
	}
	for name, want := range map[string]string{
		"pods/log": "get", "pods/exec": "create,get", "pods/attach": "create,get",
		"pods/portforward": "create,get", "nodes/proxy": "create,delete,get,patch,update",
	} {
		if verbs[name] != want {
			t.Errorf("%s verbs = %q, want %q", name, verbs[name], want)
		}
	}
}
