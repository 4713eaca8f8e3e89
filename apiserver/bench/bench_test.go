// Package bench measures navarch-apiserver against references taken in the
// same run: raw etcd transactions on the same etcd, and kube-apiserver 1.34's
// figures on this machine kind (from the issue). Run with `make bench`.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"navarch.dev/apiserver/testserver"
)

// kube-apiserver 1.34 on etcd 3.6, measured on this machine kind (issue 2).
var kubeRef = map[int]struct {
	rate float64
	p99  time.Duration
}{1: {390, 7 * time.Millisecond}, 16: {945, 49 * time.Millisecond}, 64: {918, 120 * time.Millisecond}}

func pod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench", "tier": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "busybox:1.36", Command: []string{"sleep", "3600"},
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
		}}},
	}
}

type result struct {
	n    int
	took time.Duration
	lat  []time.Duration
}

func (r result) rate() float64 { return float64(r.n) / r.took.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return r.lat[int(float64(len(r.lat)-1)*p)]
}

// run does total operations from workers goroutines and times each.
func run(workers, total int, op func(i int) error) (result, error) {
	var next atomic.Int64
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				t := time.Now()
				if err := op(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		}(w)
	}
	wg.Wait()
	r := result{n: total, took: time.Since(start)}
	for _, l := range lat {
		r.lat = append(r.lat, l...)
	}
	if err, _ := firstErr.Load().(error); err != nil {
		return r, err
	}
	return r, nil
}

func clients(cfg *rest.Config, n int) []kubernetes.Interface {
	out := make([]kubernetes.Interface, n)
	for i := range out {
		c := rest.CopyConfig(cfg)
		c.QPS, c.Burst = -1, 0
		out[i] = kubernetes.NewForConfigOrDie(c)
	}
	return out
}

func BenchmarkAPIServer(b *testing.B) {
	ts := testserver.Start(b)
	ctx := context.Background()
	cfg := ts.Config
	etcd := ts.Server.EtcdClient()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "benchmark\tclients\tnavarch/s\tp50\tp99\traw etcd/s\tkube-apiserver 1.34/s\tkube p99\t")

	body, _ := json.Marshal(pod("x"))
	const perLevel = 3000
	for _, conc := range []int{1, 16, 64} {
		ns := fmt.Sprintf("bench-%d", conc)
		if _, err := ts.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		cs := clients(cfg, conc)
		total := perLevel
		if conc == 1 {
			total = 1000
		}
		var idx atomic.Int64
		r, err := run(conc, total, func(i int) error {
			c := cs[int(idx.Add(1))%conc]
			_, err := c.CoreV1().Pods(ns).Create(ctx, pod(fmt.Sprintf("p-%d", i)), metav1.CreateOptions{})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		raw, err := run(conc, total, func(i int) error {
			key := fmt.Sprintf("/bench-raw/%d/%d", conc, i)
			_, err := etcd.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).Then(clientv3.OpPut(key, string(body))).Commit()
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		ref := kubeRef[conc]
		fmt.Fprintf(w, "pod create\t%d\t%.0f\t%v\t%v\t%.0f\t%.0f\t%v\t\n", conc, r.rate(), r.pct(0.5).Round(10*time.Microsecond), r.pct(0.99).Round(10*time.Microsecond), raw.rate(), ref.rate, ref.p99)
	}

	// LIST of 10,000 pods (consistent list, and resourceVersion=0 from the cache).
	listNS := "bench-list"
	if _, err := ts.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: listNS}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	cs := clients(cfg, 64)
	if _, err := run(64, 10000, func(i int) error {
		_, err := cs[i%64].CoreV1().Pods(listNS).Create(ctx, pod(fmt.Sprintf("l-%d", i)), metav1.CreateOptions{})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	for _, rv := range []string{"", "0"} {
		r, err := run(1, 5, func(int) error {
			l, err := cs[0].CoreV1().Pods(listNS).List(ctx, metav1.ListOptions{ResourceVersion: rv})
			if err == nil && len(l.Items) != 10000 {
				err = fmt.Errorf("listed %d pods", len(l.Items))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		name := "list 10k pods"
		if rv == "0" {
			name += " rv=0"
		}
		fmt.Fprintf(w, "%s\t1\t%.1f\t%v\t%v\t-\t-\t-\t\n", name, r.rate(), r.pct(0.5).Round(time.Millisecond), r.pct(0.99).Round(time.Millisecond))
	}

	// Watch fan-out: 100 watchers, 1,000 events each.
	fanNS := "bench-watch"
	if _, err := ts.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fanNS}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	const watchers, events = 100, 1000
	var delivered atomic.Int64
	var wg sync.WaitGroup
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start, _ := ts.Client.CoreV1().ConfigMaps(fanNS).List(ctx, metav1.ListOptions{})
	for i := 0; i < watchers; i++ {
		wi, err := cs[i%64].CoreV1().ConfigMaps(fanNS).Watch(wctx, metav1.ListOptions{ResourceVersion: start.ResourceVersion})
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer wi.Stop()
			n := 0
			for range wi.ResultChan() {
				delivered.Add(1)
				if n++; n == events {
					return
				}
			}
		}()
	}
	t0 := time.Now()
	if _, err := run(16, events, func(i int) error {
		_, err := cs[i%64].CoreV1().ConfigMaps(fanNS).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("w-%d", i)}}, metav1.CreateOptions{})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("watchers got %d of %d events", delivered.Load(), watchers*events)
	}
	took := time.Since(t0)
	fmt.Fprintf(w, "watch fan-out events delivered\t%d\t%.0f\t-\t-\t-\t-\t-\t\n", watchers, float64(delivered.Load())/took.Seconds())
	w.Flush()
}
