package integration

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/controller-manager/pkg/app"
	"navarch.dev/shared/leaderelect"
)

// cutTransport fails every request once cut, like a partitioned host.
type cutTransport struct {
	cut  *atomic.Bool
	next http.RoundTripper
}

func (t cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.cut.Load() {
		return nil, errors.New("network cut by test")
	}
	return t.next.RoundTrip(r)
}

type manager struct {
	identity string
	cut      atomic.Bool
	done     chan error
}

func startManager(t *testing.T, ts *testserver.TestServer, identity string) *manager {
	m := &manager{identity: identity, done: make(chan error, 1)}
	cfg := rest.CopyConfig(ts.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return cutTransport{cut: &m.cut, next: rt} })
	o := app.NewOptions()
	o.RESTConfig = cfg
	o.Identity = identity
	o.SecurePort = 0
	o.Controllers = []string{"serviceaccount"}
	o.LeaderElection.LeaseDuration = 4 * time.Second
	o.LeaderElection.RenewDeadline = 2 * time.Second
	o.LeaderElection.RetryPeriod = 500 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	go func() { m.done <- app.Run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		<-m.done
	})
	return m
}

func leaseHolder(ctx context.Context, ts *testserver.TestServer) (string, error) {
	l, err := ts.Client.CoordinationV1().Leases("kube-system").Get(ctx, app.LeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil || l.Spec.HolderIdentity == nil {
		return "", err
	}
	return *l.Spec.HolderIdentity, nil
}

func TestLeaderElectionFailover(t *testing.T) {
	ts := testserver.Start(t)
	a := startManager(t, ts, "manager-a")
	b := startManager(t, ts, "manager-b")
	byName := map[string]*manager{a.identity: a, b.identity: b}

	var leader string
	poll(t, "a leader", func(ctx context.Context) (bool, error) {
		var err error
		leader, err = leaseHolder(ctx, ts)
		return leader != "", err
	})
	first := byName[leader]
	if first == nil {
		t.Fatalf("lease held by %q, not by one of the managers", leader)
	}
	// Only the leader runs controllers: a new namespace gets its account.
	createNamespace(t, ts.Client, "before")
	waitForDefaultAccount(t, ts, "before")

	// The leader loses the apiserver: it must stop, and the standby take over.
	first.cut.Store(true)
	if err := <-first.done; !errors.Is(err, leaderelect.ErrLeadershipLost) {
		t.Fatalf("cut-off leader returned %v, want ErrLeadershipLost", err)
	}
	first.done <- nil // for the cleanup
	poll(t, "the standby to take over", func(ctx context.Context) (bool, error) {
		holder, err := leaseHolder(ctx, ts)
		return holder != "" && holder != leader, err
	})
	createNamespace(t, ts.Client, "after")
	waitForDefaultAccount(t, ts, "after")
}

func waitForDefaultAccount(t *testing.T, ts *testserver.TestServer, ns string) {
	t.Helper()
	poll(t, "the default service account in "+ns, func(ctx context.Context) (bool, error) {
		_, err := ts.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
}
