// Package crash kills navarch-apiserver with SIGKILL in the middle of a stream
// of writes and checks that every write it acknowledged is there after a
// restart.
package crash

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type apiserver struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func start(t *testing.T, bin, dir string, ports [3]int) *apiserver {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	log, err := os.OpenFile(filepath.Join(dir, "apiserver.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--data-dir", dir,
		"--bind-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(ports[0]),
		"--embedded-etcd-client-url", fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		"--embedded-etcd-peer-url", fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
	)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &apiserver{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-a.done })
	return a
}

func client(t *testing.T, dir string) kubernetes.Interface {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "admin.conf"))
		if err == nil {
			cfg.QPS, cfg.Burst = -1, 0
			cfg.Timeout = 10 * time.Second
			cs := kubernetes.NewForConfigOrDie(cfg)
			if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{}); err == nil {
				return cs
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "apiserver.log"))
	t.Fatalf("apiserver did not come up:\n%s", log)
	return nil
}

func TestKill9LosesNoAcknowledgedWrite(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "navarch-apiserver")
	build := exec.Command("go", "build", "-o", bin, "navarch.dev/apiserver/cmd/navarch-apiserver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build apiserver: %v", err)
	}
	data := filepath.Join(dir, "data")
	ports := [3]int{freePort(t), freePort(t), freePort(t)}
	a := start(t, bin, data, ports)
	cs := client(t, data)

	var mu sync.Mutex
	acked := map[string]bool{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				name := fmt.Sprintf("w%d-%d", w, i)
				_, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"i": fmt.Sprint(i)}}, metav1.CreateOptions{})
				if err != nil {
					return
				}
				mu.Lock()
				acked[name] = true
				mu.Unlock()
			}
		}(w)
	}
	// Kill once a good number of writes have been acknowledged.
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	cancel()
	wg.Wait()

	start(t, bin, data, ports)
	cs = client(t, data)
	list, err := cs.CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, c := range list.Items {
		stored[c.Name] = true
	}
	missing := 0
	for name := range acked {
		if !stored[name] {
			missing++
			t.Errorf("acknowledged write %s lost", name)
		}
	}
	t.Logf("%d writes acknowledged before SIGKILL, %d objects after restart, %d lost", len(acked), len(stored), missing)
}
