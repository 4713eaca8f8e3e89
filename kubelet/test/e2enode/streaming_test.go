package e2enode

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/internal/nodetest"
	"navarch.dev/kubelet/pkg/kubelet"
	"navarch.dev/kubelet/pkg/runtime"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServingKubelet runs a kubelet for node name with its HTTPS API on a
// free loopback port, trusting the test apiserver's CA for client
// certificates, until the test ends.
func startServingKubelet(t *testing.T, ts *testserver.TestServer, name string) {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- kubelet.Run(ctx, kubelet.Config{
			NodeName: name, NodeIP: "127.0.0.1", Hostname: name, RuntimeEndpoint: runtime.DefaultEndpoint,
			ClusterDomain: "cluster.local", MaxPods: 110, Reserved: kubelet.DefaultReserved(),
			PodLogRoot: t.TempDir(), PodsDir: t.TempDir(), RootDir: "/", Port: port, StatusInterval: 10 * time.Second,
			RemovePodCgroups: true,
			APIAddr:          fmt.Sprintf("127.0.0.1:%d", port),
			ClientCAFile:     filepath.Join(ts.Options.CertDir, "ca.crt"),
		}, ts.Client)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("kubelet: %v", err)
		}
		// The test's pods die with its apiserver; their sandboxes must too.
		removeNodeSandboxes(t, name)
	})
}

// TestLogsExecPortForward drives a busybox pod through the apiserver's
// pods/log, pods/exec and pods/portforward with client-go's streaming
// clients, and through the navctl binary.
func TestLogsExecPortForward(t *testing.T) {
	nodetest.Runtime(t)
	ts := testserver.Start(t)
	client := ts.Client
	ctx := context.Background()
	node := fmt.Sprintf("e2estream-%d", time.Now().UnixNano()%100000)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: v1.NamespaceNodeLease}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	startServingKubelet(t, ts, node)

	grace := int64(1)
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stream", Namespace: "default"},
		Spec: v1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: &grace,
			Containers: []v1.Container{{
				Name: "main", Image: nodetest.BusyboxImage, ImagePullPolicy: v1.PullNever,
				Command: []string{"sh", "-c", "echo oops >&2; sleep 1; for i in 1 2 3; do echo line$i; done; mkdir -p /www && echo forwarded > /www/index.html && exec httpd -f -p 8080 -h /www"},
			}},
		},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		zero := int64(0)
		client.CoreV1().Pods("default").Delete(context.Background(), "stream", metav1.DeleteOptions{GracePeriodSeconds: &zero})
	})
	poll(t, "pod Running", func() (bool, error) {
		p, err := client.CoreV1().Pods("default").Get(ctx, "stream", metav1.GetOptions{})
		return err == nil && p.Status.Phase == v1.PodRunning, err
	})

	logs := func(o *v1.PodLogOptions) (string, error) {
		rc, err := client.CoreV1().Pods("default").GetLogs("stream", o).Stream(ctx)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	var all string
	poll(t, "the log has all four lines", func() (bool, error) {
		var err error
		all, err = logs(&v1.PodLogOptions{})
		return strings.Count(all, "\n") == 4, err
	})
	if all != "oops\nline1\nline2\nline3\n" {
		t.Errorf("logs = %q, want stderr and the three lines", all)
	}
	two := int64(2)
	if got, err := logs(&v1.PodLogOptions{TailLines: &two}); err != nil || got != "line2\nline3\n" {
		t.Errorf("logs --tail=2 = %q, %v", got, err)
	}
	if got, err := logs(&v1.PodLogOptions{Timestamps: true, TailLines: &two}); err != nil || !strings.HasSuffix(got, " line3\n") || !strings.HasPrefix(got, time.Now().UTC().Format("2006-")) {
		t.Errorf("logs --timestamps = %q, %v", got, err)
	}
	if _, err := logs(&v1.PodLogOptions{Previous: true}); !apierrors.IsBadRequest(err) {
		t.Errorf("logs --previous of a first container: %v, want BadRequest", err)
	}
	// Following ends when the client goes away, not at the end of the file.
	fctx, fcancel := context.WithTimeout(ctx, 2*time.Second)
	rc, err := client.CoreV1().Pods("default").GetLogs("stream", &v1.PodLogOptions{Follow: true}).Stream(fctx)
	if err != nil {
		t.Fatal(err)
	}
	followed, _ := io.ReadAll(rc)
	rc.Close()
	fcancel()
	if string(followed) != all {
		t.Errorf("logs -f = %q, want %q", followed, all)
	}

	t.Run("exec", func(t *testing.T) {
		for _, mode := range []string{"websocket-with-fallback", "spdy"} {
			exec := executor(t, ts.Config, "stream", mode, "sh", "-c", "read x; echo got $x; echo to-stderr >&2; exit 3")
			var stdout, stderr bytes.Buffer
			err := exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: strings.NewReader("hello\n"), Stdout: &stdout, Stderr: &stderr})
			var exit interface{ ExitStatus() int }
			if !asExit(err, &exit) || exit.ExitStatus() != 3 {
				t.Errorf("%s: exec error = %v, want exit status 3", mode, err)
			}
			if stdout.String() != "got hello\n" || stderr.String() != "to-stderr\n" {
				t.Errorf("%s: stdout %q stderr %q", mode, stdout.String(), stderr.String())
			}
		}
	})

	t.Run("port-forward", func(t *testing.T) {
		rt, upgrader, err := spdy.RoundTripperFor(ts.Config)
		if err != nil {
			t.Fatal(err)
		}
		u := client.CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name("stream").SubResource("portforward").URL()
		dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, "POST", u)
		stop, ready := make(chan struct{}), make(chan struct{})
		fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:8080"}, stop, ready, io.Discard, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- fw.ForwardPorts() }()
		defer func() {
			close(stop)
			<-errc
		}()
		select {
		case <-ready:
		case err := <-errc:
			t.Fatalf("port-forward: %v", err)
		}
		ports, err := fw.GetPorts()
		if err != nil || len(ports) != 1 {
			t.Fatalf("ports %v, %v", ports, err)
		}
		var body string
		poll(t, "httpd through the forwarded port", func() (bool, error) {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", ports[0].Local))
			if err != nil {
				return false, err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			body = string(b)
			return err == nil && resp.StatusCode == 200, err
		})
		if body != "forwarded\n" {
			t.Errorf("GET through port-forward = %q", body)
		}
	})

	t.Run("navctl", func(t *testing.T) {
		bin := buildNavctl(t)
		run := func(args ...string) (string, string, error) {
			cmd := exec.Command(bin, append([]string{"--kubeconfig", ts.Kubeconfig}, args...)...)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			return out.String(), errb.String(), err
		}
		if out, errs, err := run("logs", "stream", "--tail=1"); err != nil || out != "line3\n" {
			t.Errorf("navctl logs --tail=1: %q %q %v", out, errs, err)
		}
		if out, errs, err := run("exec", "stream", "--", "sh", "-c", "echo $((6*7))"); err != nil || out != "42\n" {
			t.Errorf("navctl exec: %q %q %v", out, errs, err)
		}
	})

	// The kubelet's API refuses clients without the apiserver's certificate.
	n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	resp, err := insecure.Get(fmt.Sprintf("https://127.0.0.1:%d/pods", n.Status.DaemonEndpoints.KubeletEndpoint.Port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("kubelet /pods without a client certificate: %d, want 401", resp.StatusCode)
	}
	// Through nodes/proxy it answers.
	summary, err := client.CoreV1().RESTClient().Get().Resource("nodes").Name(node).SubResource("proxy", "stats", "summary").DoRaw(ctx)
	if err != nil || !bytes.Contains(summary, []byte(`"name":"stream"`)) || !bytes.Contains(summary, []byte(`"workingSetBytes"`)) {
		t.Errorf("nodes/proxy/stats/summary = %s, %v", summary, err)
	}
}

func executor(t *testing.T, cfg *rest.Config, pod, mode string, command ...string) remotecommand.Executor {
	t.Helper()
	req := kubernetes.NewForConfigOrDie(cfg).CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name(pod).SubResource("exec").
		VersionedParams(&v1.PodExecOptions{Container: "main", Command: command, Stdin: true, Stdout: true, Stderr: true}, parameterCodec)
	spdyExec, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		t.Fatal(err)
	}
	if mode == "spdy" {
		return spdyExec
	}
	wsExec, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		t.Fatal(err)
	}
	ex, err := remotecommand.NewFallbackExecutor(wsExec, spdyExec, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

var parameterCodec = k8sruntime.NewParameterCodec(scheme.Scheme)

func asExit(err error, out *interface{ ExitStatus() int }) bool {
	return errors.As(err, out)
}

func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

// buildNavctl builds the navctl binary of this workspace into the test's
// temporary directory.
func buildNavctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "navctl")
	cmd := exec.Command("go", "build", "-o", bin, "navarch.dev/ctl/cmd/navctl")
	cmd.Dir = filepath.Join(nodetest.RepoRoot(), "ctl")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build navctl: %v\n%s", err, out)
	}
	return bin
}
