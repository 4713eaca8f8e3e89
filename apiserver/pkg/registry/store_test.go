package registry

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"navarch.dev/apiserver/pkg/storage/etcd"
	"navarch.dev/apiserver/pkg/storage/watchcache"
)

func startEtcd(t *testing.T) *clientv3.Client {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Dir = t.TempDir()
	cfg.LogLevel = "error"
	ports := make([]int, 2)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", ports[0]))
	pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", ports[1]))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	<-e.Server.ReadyNotify()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{cu.String()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close(); e.Close() })
	return cli
}

var configMaps = &Resource{
	GroupVersion: schema.GroupVersion{Version: "v1"}, Plural: "configmaps", Singular: "configmap",
	Kind: "ConfigMap", ListKind: "ConfigMapList", Namespaced: true,
	New: func() runtime.Object { return &corev1.ConfigMap{} }, NewList: func() runtime.Object { return &corev1.ConfigMapList{} },
}

var pods = &Resource{
	GroupVersion: schema.GroupVersion{Version: "v1"}, Plural: "pods", Singular: "pod",
	Kind: "Pod", ListKind: "PodList", Namespaced: true, Status: true,
	New: func() runtime.Object { return &corev1.Pod{} }, NewList: func() runtime.Object { return &corev1.PodList{} },
}

func newStore(t *testing.T, cli *clientv3.Client, res *Resource, capacity int) *Store {
	t.Helper()
	watchcache.SetWatchContext(etcd.WatchContext)
	s := NewStore(res, etcd.New(cli, nil), "/registry/"+res.Plural, capacity)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go s.Run(ctx)
	if err := s.Cache().WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func cm(name string, lbls map[string]string, data string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}, Data: map[string]string{"k": data}}
}

func TestCreateGetUpdateDelete(t *testing.T) {
	cli := startEtcd(t)
	s := newStore(t, cli, configMaps, 100)
	ctx := context.Background()

	created, err := s.Create(ctx, "ns", cm("a", nil, "1"), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := created.(*corev1.ConfigMap)
	if c.UID == "" || c.ResourceVersion == "" || c.CreationTimestamp.IsZero() || c.Namespace != "ns" {
		t.Fatalf("create did not set metadata: %+v", c.ObjectMeta)
	}
	if _, err := s.Create(ctx, "ns", cm("a", nil, "1"), WriteOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: want AlreadyExists, got %v", err)
	}

	tests := []struct {
		name    string
		rv      string
		wantErr func(error) bool
	}{
		{name: "current resourceVersion", rv: c.ResourceVersion},
		{name: "stale resourceVersion", rv: c.ResourceVersion, wantErr: apierrors.IsConflict},
		{name: "no resourceVersion", rv: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.Update(ctx, "ns", "a", func(cur runtime.Object) (runtime.Object, error) {
				n := cur.(*corev1.ConfigMap)
				n.Data["k"] += "x"
				n.ResourceVersion = tc.rv
				return n, nil
			}, UpdateOptions{})
			if tc.wantErr == nil && err != nil {
				t.Fatalf("update: %v", err)
			}
			if tc.wantErr != nil && !tc.wantErr(err) {
				t.Fatalf("update: got %v", err)
			}
		})
	}
	got, err := s.Get(ctx, "ns", "a", "")
	if err != nil {
		t.Fatal(err)
	}
	if v := got.(*corev1.ConfigMap).Data["k"]; v != "1xx" {
		t.Fatalf("data after updates = %q, want 1xx", v)
	}
	// A no-op update writes nothing and keeps the resourceVersion.
	before := got.(*corev1.ConfigMap).ResourceVersion
	same, _, err := s.Update(ctx, "ns", "a", func(cur runtime.Object) (runtime.Object, error) { return cur, nil }, UpdateOptions{})
	if err != nil || same.(*corev1.ConfigMap).ResourceVersion != before {
		t.Fatalf("no-op update changed resourceVersion %s -> %v (%v)", before, same, err)
	}
	if _, _, err := s.Delete(ctx, "ns", "a", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "ns", "a", ""); !apierrors.IsNotFound(err) {
		t.Fatalf("get after delete: want NotFound, got %v", err)
	}
}

func TestListPaginationAndSelectors(t *testing.T) {
	cli := startEtcd(t)
	s := newStore(t, cli, configMaps, 100)
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		tier := "web"
		if i%5 == 0 {
			tier = "db"
		}
		if _, err := s.Create(ctx, "ns", cm(fmt.Sprintf("cm-%02d", i), map[string]string{"tier": tier}, ""), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Create(ctx, "other", cm("x", nil, ""), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		opts     ListOptions
		wantKeys int
	}{
		{name: "namespace", opts: ListOptions{Namespace: "ns"}, wantKeys: 25},
		{name: "all namespaces", opts: ListOptions{}, wantKeys: 26},
		{name: "label selector", opts: ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"tier": "db"})}, wantKeys: 5},
		{name: "paged", opts: ListOptions{Namespace: "ns", Limit: 7}, wantKeys: 25},
		{name: "paged with selector", opts: ListOptions{Namespace: "ns", Limit: 2, LabelSelector: labels.SelectorFromSet(labels.Set{"tier": "db"})}, wantKeys: 5},
		{name: "from cache", opts: ListOptions{Namespace: "ns", ResourceVersion: "0"}, wantKeys: 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			opts := tc.opts
			var pageRV int64
			for pages := 0; ; pages++ {
				res, err := s.List(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				if pageRV != 0 && res.Revision != pageRV {
					t.Fatalf("page revision changed %d -> %d", pageRV, res.Revision)
				}
				pageRV = res.Revision
				for _, o := range res.Items {
					if seen[o.Key] {
						t.Fatalf("%s listed twice", o.Key)
					}
					seen[o.Key] = true
				}
				if opts.Limit > 0 && int64(len(res.Items)) > opts.Limit {
					t.Fatalf("page of %d items exceeds limit %d", len(res.Items), opts.Limit)
				}
				if res.Continue == "" {
					break
				}
				opts.Continue = res.Continue
				if pages > 30 {
					t.Fatal("pagination does not end")
				}
			}
			if len(seen) != tc.wantKeys {
				t.Fatalf("listed %d objects, want %d", len(seen), tc.wantKeys)
			}
		})
	}
}

func TestWatchResumeFilterAndExpiry(t *testing.T) {
	cli := startEtcd(t)
	s := newStore(t, cli, configMaps, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := s.Create(ctx, "ns", cm("a", map[string]string{"app": "x"}, "0"), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	startRV := first.(*corev1.ConfigMap).ResourceVersion
	set := func(app string) {
		_, _, err := s.Update(ctx, "ns", "a", func(cur runtime.Object) (runtime.Object, error) {
			c := cur.(*corev1.ConfigMap)
			c.Labels["app"] = app
			return c, nil
		}, UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	set("y")
	set("x")
	if _, _, err := s.Delete(ctx, "ns", "a", DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Resuming after the create with app=x sees it leave, return, and be deleted.
	w, err := s.Watch(ctx, ListOptions{Namespace: "ns", ResourceVersion: startRV, LabelSelector: labels.SelectorFromSet(labels.Set{"app": "x"})}, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []watch.EventType
	for _, e := range w.Initial() {
		got = append(got, e.Type)
	}
	for len(got) < 3 {
		select {
		case e := <-w.ResultChan():
			got = append(got, e.Type)
		case <-ctx.Done():
			t.Fatalf("events so far %v", got)
		}
	}
	want := []watch.EventType{watch.Deleted, watch.Added, watch.Deleted}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	w.Stop()

	// Push the start out of the 5-event window, compact etcd: resuming is 410.
	for i := 0; i < 10; i++ {
		if _, err := s.Create(ctx, "ns", cm(fmt.Sprintf("b%d", i), nil, ""), WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rev, _ := s.storage.Revision(ctx)
	if err := s.storage.Compact(ctx, rev); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Watch(ctx, ListOptions{ResourceVersion: startRV}, false); !apierrors.IsResourceExpired(err) {
		t.Fatalf("watch from compacted revision: want 410 Expired, got %v", err)
	}
}

func TestFinalizersAndGracefulPodDeletion(t *testing.T) {
	cli := startEtcd(t)
	ctx := context.Background()
	s := newStore(t, cli, configMaps, 100)
	obj := cm("held", nil, "")
	obj.Finalizers = []string{"example.com/hold"}
	if _, err := s.Create(ctx, "ns", obj, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, immediate, err := s.Delete(ctx, "ns", "held", DeleteOptions{}); err != nil || immediate {
		t.Fatalf("delete with finalizer: immediate=%v err=%v", immediate, err)
	}
	got, err := s.Get(ctx, "ns", "held", "")
	if err != nil || got.(*corev1.ConfigMap).DeletionTimestamp == nil {
		t.Fatalf("object with finalizer should remain with a deletionTimestamp: %v %v", got, err)
	}
	if _, _, err := s.Update(ctx, "ns", "held", func(cur runtime.Object) (runtime.Object, error) {
		c := cur.(*corev1.ConfigMap)
		c.Finalizers = nil
		return c, nil
	}, UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "ns", "held", ""); !apierrors.IsNotFound(err) {
		t.Fatalf("removing the last finalizer should delete the object, got %v", err)
	}

	ps := newStore(t, cli, pods, 100)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	if _, err := ps.Create(ctx, "ns", pod, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	out, immediate, err := ps.Delete(ctx, "ns", "p", DeleteOptions{})
	if err != nil || immediate {
		t.Fatalf("graceful delete: immediate=%v err=%v", immediate, err)
	}
	if g := out.(*corev1.Pod).DeletionGracePeriodSeconds; g == nil || *g != 30 {
		t.Fatalf("grace period = %v, want 30", g)
	}
	zero := int64(0)
	if _, immediate, err := ps.Delete(ctx, "ns", "p", DeleteOptions{GracePeriodSeconds: &zero}); err != nil || !immediate {
		t.Fatalf("delete with grace 0 should remove the pod: immediate=%v err=%v", immediate, err)
	}
}

// Update starts from the watch cache's copy, which may lag etcd: writes
// through two stores (two apiservers, each with its own cache) must lose
// nothing, and a client holding the latest resourceVersion must not get a
// conflict from a cache that has not seen it yet.
func TestUpdateFromStaleCacheLosesNothing(t *testing.T) {
	cli := startEtcd(t)
	s1 := newStore(t, cli, configMaps, 100)
	s2 := newStore(t, cli, configMaps, 100)
	ctx := context.Background()
	if _, err := s1.Create(ctx, "ns", cm("a", nil, ""), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	appendX := func(rv string) UpdateFunc {
		return func(cur runtime.Object) (runtime.Object, error) {
			n := cur.(*corev1.ConfigMap)
			n.Data["k"] += "x"
			n.ResourceVersion = rv
			return n, nil
		}
	}
	const perStore = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*perStore)
	for _, s := range []*Store{s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perStore {
				if _, _, err := s.Update(ctx, "ns", "a", appendX(""), UpdateOptions{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("update: %v", err)
	}
	for i := range 10 {
		out, _, err := s1.Update(ctx, "ns", "a", appendX(""), UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Straight away through the other store, with the version just written.
		if _, _, err := s2.Update(ctx, "ns", "a", appendX(out.(*corev1.ConfigMap).ResourceVersion), UpdateOptions{}); err != nil {
			t.Fatalf("round %d: update with the latest resourceVersion: %v", i, err)
		}
	}
	got, err := s1.Get(ctx, "ns", "a", "")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.(*corev1.ConfigMap).Data["k"]); n != 2*perStore+20 {
		t.Fatalf("%d updates applied, want %d", n, 2*perStore+20)
	}
}
