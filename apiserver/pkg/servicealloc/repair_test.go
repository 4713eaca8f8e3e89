package servicealloc

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	corev1 "k8s.io/api/core/v1"

	"navarch.dev/apiserver/pkg/ipalloc"
)

// etcdClient runs an embedded etcd on loopback for the test and returns a
// client of it.
func etcdClient(t *testing.T) *clientv3.Client {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name = "servicealloc-test"
	cfg.Dir = t.TempDir()
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true
	loopback := []url.URL{{Scheme: "http", Host: "127.0.0.1:0"}}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = loopback, loopback
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = loopback, loopback
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		t.Fatal("etcd did not become ready")
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + e.Clients[0].Addr().String()}, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// TestRepairBothFamilies: each family's range ends up holding exactly the
// addresses of its family that stored Services use.
func TestRepairBothFamilies(t *testing.T) {
	ctx := context.Background()
	cli := etcdClient(t)
	_, n4, _ := net.ParseCIDR("10.96.0.0/24")
	_, n6, _ := net.ParseCIDR("fd00:10:96::/112")
	r4, err := ipalloc.NewIPAllocator(cli, "/registry/ranges/serviceips", n4, ipalloc.WithLeakGrace(0))
	if err != nil {
		t.Fatal(err)
	}
	r6, err := ipalloc.NewIPAllocator(cli, "/registry/ranges/secondaryserviceips", n6, ipalloc.WithLeakGrace(0))
	if err != nil {
		t.Fatal(err)
	}
	ports, err := ipalloc.NewPortAllocator(cli, "/registry/ranges/servicenodeports", 30000, 2768, ipalloc.WithLeakGrace(0))
	if err != nil {
		t.Fatal(err)
	}
	// Leaked by requests that failed after allocating.
	for _, leak := range []struct {
		r  *ipalloc.IPAllocator
		ip string
	}{{r4, "10.96.0.50"}, {r6, "fd00:10:96::50"}} {
		if err := leak.r.Allocate(ctx, net.ParseIP(leak.ip)); err != nil {
			t.Fatal(err)
		}
	}
	svcs := []*corev1.Service{
		makeService(policy(require), families(v4, v6), ips("10.96.0.10", "fd00:10:96::10")),
		makeService(families(v6), ips("fd00:10:96::11")),
	}
	if err := Repair(ctx, map[corev1.IPFamily]*ipalloc.IPAllocator{v4: r4, v6: r6}, ports, svcs); err != nil {
		t.Fatalf("Repair: %v", err)
	}
	for _, c := range []struct {
		r    *ipalloc.IPAllocator
		ip   string
		want bool
	}{
		{r4, "10.96.0.10", true}, {r6, "fd00:10:96::10", true}, {r6, "fd00:10:96::11", true},
		{r4, "10.96.0.50", false}, {r6, "fd00:10:96::50", false},
	} {
		has, err := c.r.Has(ctx, net.ParseIP(c.ip))
		if err != nil {
			t.Fatal(err)
		}
		if has != c.want {
			t.Errorf("after repair %s allocated = %v, want %v", c.ip, has, c.want)
		}
	}
}
