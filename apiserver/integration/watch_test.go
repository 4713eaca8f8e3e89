package integration

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
)

func TestListSelectorsAndPagination(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	for i := 0; i < 30; i++ {
		tier := "web"
		if i%3 == 0 {
			tier = "db"
		}
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, makePod(fmt.Sprintf("p-%02d", i), map[string]string{"tier": tier}), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		opts metav1.ListOptions
		want int
	}{
		{name: "all", opts: metav1.ListOptions{}, want: 30},
		{name: "label equality", opts: metav1.ListOptions{LabelSelector: "tier=db"}, want: 10},
		{name: "label set", opts: metav1.ListOptions{LabelSelector: "tier in (db,web)"}, want: 30},
		{name: "label inequality", opts: metav1.ListOptions{LabelSelector: "tier!=db"}, want: 20},
		{name: "field name", opts: metav1.ListOptions{FieldSelector: "metadata.name=p-07"}, want: 1},
		{name: "field phase", opts: metav1.ListOptions{FieldSelector: "status.phase=Pending"}, want: 30},
		{name: "field nodeName empty", opts: metav1.ListOptions{FieldSelector: "spec.nodeName="}, want: 30},
		{name: "pages of 4", opts: metav1.ListOptions{Limit: 4}, want: 30},
		{name: "pages with selector", opts: metav1.ListOptions{Limit: 3, LabelSelector: "tier=db"}, want: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			seen := map[string]bool{}
			var rv string
			for {
				list, err := cs.CoreV1().Pods(ns).List(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				if opts.Limit > 0 && int64(len(list.Items)) > opts.Limit {
					t.Fatalf("page has %d items, limit %d", len(list.Items), opts.Limit)
				}
				if rv != "" && list.ResourceVersion != rv {
					t.Fatalf("pages from different revisions %s, %s", rv, list.ResourceVersion)
				}
				rv = list.ResourceVersion
				for _, p := range list.Items {
					if seen[p.Name] {
						t.Fatalf("%s listed twice", p.Name)
					}
					seen[p.Name] = true
				}
				if list.Continue == "" {
					break
				}
				opts.Continue = list.Continue
			}
			if len(seen) != tc.want {
				t.Fatalf("got %d pods, want %d", len(seen), tc.want)
			}
		})
	}
	if _, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{FieldSelector: "spec.bogus=x"}); !apierrors.IsBadRequest(err) {
		t.Fatalf("unknown field selector: want 400, got %v", err)
	}
	if _, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "a in ("}); !apierrors.IsBadRequest(err) {
		t.Fatalf("bad label selector: want 400, got %v", err)
	}
}

func TestInformerStaysInSyncAcross1000Writes(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().ConfigMaps().Informer()
	stop := make(chan struct{})
	defer close(stop)
	factory.Start(stop)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	// 1,000 writes from 8 writers: 200 creates, 700 updates, 100 deletes.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				name := fmt.Sprintf("cm-%d-%d", w, i)
				cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"n": "0"}}, metav1.CreateOptions{})
				if err != nil {
					errs <- err
					return
				}
				updates := 3
				if i%2 == 0 {
					updates = 4
				}
				for u := 1; u <= updates; u++ {
					cm.Data["n"] = strconv.Itoa(u)
					if cm, err = cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
						errs <- err
						return
					}
				}
				if i%2 == 1 {
					if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
						errs <- err
						return
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Items) != 8*13 {
		t.Fatalf("server has %d configmaps, want %d", len(want.Items), 8*13)
	}
	eventually(t, "informer matches the server", func() (bool, error) {
		items := inf.GetStore().List()
		if len(items) != len(want.Items) {
			return false, fmt.Errorf("informer has %d, server %d", len(items), len(want.Items))
		}
		for _, w := range want.Items {
			obj, ok, _ := inf.GetStore().GetByKey(ns + "/" + w.Name)
			if !ok || obj.(*corev1.ConfigMap).ResourceVersion != w.ResourceVersion || obj.(*corev1.ConfigMap).Data["n"] != w.Data["n"] {
				return false, fmt.Errorf("%s differs", w.Name)
			}
		}
		return true, nil
	})
}

func TestWatchResumesFromOldResourceVersion(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	first, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"b", "c"} {
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var got []string
	for len(got) < 3 {
		select {
		case e := <-w.ResultChan():
			got = append(got, fmt.Sprintf("%s %s", e.Type, e.Object.(*corev1.ConfigMap).Name))
		case <-time.After(30 * time.Second):
			t.Fatalf("watch events so far: %v", got)
		}
	}
	want := []string{"ADDED b", "ADDED c", "DELETED a"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestWatchGoneAfterCompaction(t *testing.T) {
	ts := testserver.Start(t, func(o *server.Options) { o.WatchCacheSize = 10 })
	ctx := testContext(t)
	cs := ts.Client
	first, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "first"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%d", i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cli := ts.Server.EtcdClient()
	resp, err := cli.Get(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoreV1().ConfigMaps("default").Watch(ctx, metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	select {
	case e := <-w.ResultChan():
		if e.Type != watch.Error {
			t.Fatalf("first event %s, want ERROR", e.Type)
		}
		st, ok := e.Object.(*metav1.Status)
		if !ok || st.Code != 410 || st.Reason != metav1.StatusReasonExpired {
			t.Fatalf("error event %+v, want a 410 Expired Status", e.Object)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no event")
	}
	// A paginated list whose snapshot was compacted is 410 too.
	list, err := cs.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, _ = cli.Get(ctx, "x")
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	_, err = cs.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{Limit: 5, Continue: list.Continue})
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Fatalf("continue after compaction: want 410, got %v", err)
	}
}

func TestTerminatingNamespaceRejectsNewObjects(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil || got.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("namespace after delete: %v %v, want Terminating", got, err)
	}
	_, err = cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("create in terminating namespace: want 403, got %v", err)
	}
	_, err = cs.CoreV1().ConfigMaps("no-such-ns").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("create in missing namespace: want 404, got %v", err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, "kube-system", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("delete kube-system: want 403, got %v", err)
	}
	var _ context.Context = ctx
}
