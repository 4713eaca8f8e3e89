// Package testserver starts a real navarch-apiserver in the test process, with
// an embedded etcd on free loopback ports and its data in a temporary
// directory, and hands back a client configuration for it. Other modules'
// integration tests and e2e use it.
//
// One difference from a real cluster, by default: the ServiceAccount
// admission plugin is off. A bare test server runs no controller-manager,
// so no namespace has its "default" ServiceAccount and that plugin would
// reject every pod. A test that wants pods to get service accounts and
// token volumes turns it back on with WithServiceAccountAdmission (and
// creates the accounts and the kube-root-ca.crt ConfigMaps itself, or runs
// the controllers that do).
package testserver

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"navarch.dev/apiserver/pkg/admission/serviceaccount"
	"navarch.dev/apiserver/pkg/server"
)

// TestServer is a running apiserver.
type TestServer struct {
	// Config is an admin (system:masters) client configuration. It is nil
	// when the server was given its certificates and so wrote no admin
	// kubeconfig.
	Config *rest.Config
	// Client is a clientset built from Config (nil with Config).
	Client kubernetes.Interface
	// Server is the running server.
	Server *server.Server
	// Options are the options it was started with.
	Options *server.Options
	// URL is its https address.
	URL string
	// Kubeconfig is the path of the admin kubeconfig.
	Kubeconfig string

	cancel context.CancelFunc
	done   chan error
}

// Start starts a server for t and stops it when t ends. modify may change the
// options before start (the data dir, ports and etcd URLs are already set,
// and the ServiceAccount admission plugin is disabled).
func Start(t testing.TB, modify ...func(*server.Options)) *TestServer {
	t.Helper()
	ts, err := StartE(t.TempDir(), modify...)
	if err != nil {
		t.Fatalf("start test apiserver: %v", err)
	}
	t.Cleanup(ts.Stop)
	return ts
}

// StartE starts a server with its data in dir.
func StartE(dir string, modify ...func(*server.Options)) (*TestServer, error) {
	o := server.NewOptions()
	o.DataDir = dir
	o.BindAddress = net.IPv4(127, 0, 0, 1)
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	o.SecurePort = ports[0]
	o.EmbeddedEtcdClientURL = fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	o.EmbeddedEtcdPeerURL = fmt.Sprintf("http://127.0.0.1:%d", ports[2])
	o.AdminKubeconfig = filepath.Join(dir, "admin.conf")
	o.BookmarkInterval = 2 * time.Second
	o.DisableAdmissionPlugins = []string{serviceaccount.Name}
	for _, m := range modify {
		m(o)
	}
	return StartWithOptions(o)
}

// WithServiceAccountAdmission is a modify function for Start and StartE
// that runs every admission plugin, as a real apiserver does: pods get the
// "default" ServiceAccount, which must exist, and its token volume.
func WithServiceAccountAdmission(o *server.Options) {
	o.DisableAdmissionPlugins = slices.DeleteFunc(o.DisableAdmissionPlugins, func(n string) bool { return n == serviceaccount.Name })
}

// StartWithOptions starts a server with exactly these options.
func StartWithOptions(o *server.Options) (*TestServer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, o)
	if err != nil {
		cancel()
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.BindAddress.String(), fmt.Sprint(o.SecurePort)))
	if err != nil {
		cancel()
		srv.Close()
		return nil, err
	}
	done := make(chan error, 1)
	go func() {
		done <- srv.Serve(ctx, ln)
	}()
	ts := &TestServer{Server: srv, Options: o, URL: "https://" + ln.Addr().String(), Kubeconfig: o.AdminKubeconfig, cancel: cancel, done: done}
	if srv.CA() == nil {
		return ts, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.AdminKubeconfig)
	if err != nil {
		ts.Stop()
		return nil, fmt.Errorf("load admin kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	ts.Config = cfg
	if ts.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		ts.Stop()
		return nil, err
	}
	return ts, nil
}

// Stop stops the server and its etcd.
func (ts *TestServer) Stop() {
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	<-ts.done
	ts.Server.Close()
	ts.cancel = nil
}

func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
