package bench

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
)

// BenchmarkPodCreateServiceAccountAdmission measures pod creation through
// the whole admission chain (the ServiceAccount plugin looks the account up
// and adds the token volume) beside the same load on a server without that
// plugin, started one after the other in this run.
func BenchmarkPodCreateServiceAccountAdmission(b *testing.B) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "pod create\tclients\tpods/s\tp50\tp99\t")
	ctx := context.Background()
	const conc, total = 16, 2000
	for _, mode := range []struct {
		name   string
		modify func(*server.Options)
	}{
		{"without ServiceAccount admission (reference)", func(*server.Options) {}},
		{"with ServiceAccount admission", testserver.WithServiceAccountAdmission},
	} {
		ts := testserver.Start(b, mode.modify)
		const ns = "bench-sa"
		if _, err := ts.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := ts.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		cs := clients(ts.Config, conc)
		var idx atomic.Int64
		r, err := run(conc, total, func(i int) error {
			_, err := cs[int(idx.Add(1))%conc].CoreV1().Pods(ns).Create(ctx, pod(fmt.Sprintf("p-%d", i)), metav1.CreateOptions{})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		got, err := ts.Client.CoreV1().Pods(ns).Get(ctx, "p-0", metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(w, "%s (%d volumes)\t%d\t%.0f\t%v\t%v\t\n", mode.name, len(got.Spec.Volumes), conc, r.rate(),
			r.pct(0.5).Round(10*time.Microsecond), r.pct(0.99).Round(10*time.Microsecond))
		ts.Stop()
	}
	w.Flush()
}
