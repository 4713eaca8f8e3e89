package e2enode

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/remotecommand"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/kubelet/internal/nodetest"
)

// TestAttach attaches to the stdin and stdout of a running container
// through the apiserver's pods/attach (SPDY, and WebSocket with fallback),
// sends it a line and reads its answer.
func TestAttach(t *testing.T) {
	nodetest.Runtime(t)
	ts := testserver.Start(t)
	client := ts.Client
	ctx := context.Background()
	ensureLeaseNamespace(t, client)
	node := testNodeName("e2eattach")
	startServingKubelet(t, ts, node)

	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "echo", Namespace: "default"},
		Spec: v1.PodSpec{
			NodeName: node, TerminationGracePeriodSeconds: int64p(0),
			Containers: []v1.Container{{
				Name: "main", Image: nodetest.BusyboxImage, ImagePullPolicy: v1.PullNever, Stdin: true,
				Command: []string{"sh", "-c", `while read line; do echo "echo: $line"; echo "err: $line" >&2; done`},
			}},
		},
	}
	if _, err := client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePod(t, client, "default", "echo") })
	waitPod(t, client, "default", "echo", "Running", func(p *v1.Pod) bool { return p.Status.Phase == v1.PodRunning })

	for _, mode := range []string{"spdy", "websocket-with-fallback"} {
		t.Run(mode, func(t *testing.T) {
			req := kubernetes.NewForConfigOrDie(ts.Config).CoreV1().RESTClient().Post().Resource("pods").Namespace("default").Name("echo").SubResource("attach").
				VersionedParams(&v1.PodAttachOptions{Container: "main", Stdin: true, Stdout: true, Stderr: true}, parameterCodec)
			var ex remotecommand.Executor
			spdyExec, err := remotecommand.NewSPDYExecutor(ts.Config, "POST", req.URL())
			if err != nil {
				t.Fatal(err)
			}
			ex = spdyExec
			if mode != "spdy" {
				ws, err := remotecommand.NewWebSocketExecutor(ts.Config, "GET", req.URL().String())
				if err != nil {
					t.Fatal(err)
				}
				if ex, err = remotecommand.NewFallbackExecutor(ws, spdyExec, func(err error) bool {
					return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
				}); err != nil {
					t.Fatal(err)
				}
			}
			// Attach keeps streaming until the client leaves: the test
			// leaves once it has read the answer.
			actx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			stdinR, stdinW := io.Pipe()
			stdout, stderr := &syncBuffer{}, &syncBuffer{}
			done := make(chan error, 1)
			go func() {
				done <- ex.StreamWithContext(actx, remotecommand.StreamOptions{Stdin: stdinR, Stdout: stdout, Stderr: stderr})
			}()
			line := fmt.Sprintf("hello %s", mode)
			want := "echo: " + line + "\n"
			// The attach may not be in place when the first line is sent:
			// send until the answer shows up.
			poll(t, "the container's answer", func() (bool, error) {
				select {
				case err := <-done:
					return false, fmt.Errorf("attach ended: %v (stdout %q)", err, stdout.String())
				default:
				}
				if strings.Contains(stdout.String(), want) {
					return true, nil
				}
				fmt.Fprintln(stdinW, line)
				time.Sleep(300 * time.Millisecond)
				return false, nil
			})
			if !strings.Contains(stderr.String(), "err: "+line+"\n") {
				t.Errorf("stderr = %q, want the container's stderr line", stderr.String())
			}
			stdinW.Close()
			cancel()
			<-done
		})
	}
}

// syncBuffer is a bytes.Buffer safe to read while the stream writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
