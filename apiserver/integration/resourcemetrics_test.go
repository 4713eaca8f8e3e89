package integration

import (
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
	"navarch.dev/apiserver/testserver/kubeletstats"
)

// metricsCluster is an apiserver with two nodes: a Ready one whose fake
// kubelet runs pods web-1 (app=web, two containers) and db-1 (app=db), and a
// NotReady one.
func metricsCluster(t *testing.T) (*testserver.TestServer, *kubeletstats.Kubelet) {
	ts := testserver.Start(t, func(o *server.Options) { o.MetricResolution = 2 * time.Second })
	cs := ts.Client
	k := kubeletstats.Start(t, "worker-1", kubeletstats.Usage{MilliCPU: 1500, Memory: 2 << 30})
	kubeletstats.RegisterNode(t, cs, "worker-1", map[string]string{"pool": "metrics"}, k.Port(), corev1.ConditionTrue)
	down := kubeletstats.Start(t, "worker-2", kubeletstats.Usage{MilliCPU: 100, Memory: 1 << 30})
	kubeletstats.RegisterNode(t, cs, "worker-2", map[string]string{"pool": "metrics"}, down.Port(), corev1.ConditionFalse)
	web := kubeletstats.CreatePod(t, cs, "default", "web-1", "worker-1", map[string]string{"app": "web"}, "app", "sidecar")
	db := kubeletstats.CreatePod(t, cs, "default", "db-1", "worker-1", map[string]string{"app": "db"}, "db")
	kubeletstats.CreatePod(t, cs, "default", "elsewhere", "worker-2", map[string]string{"app": "web"}, "app")
	k.SetPods(
		kubeletstats.Pod{Name: "web-1", Namespace: "default", UID: string(web.UID), Containers: []kubeletstats.Container{
			{Name: "app", Usage: kubeletstats.Usage{MilliCPU: 200, Memory: 64 << 20}},
			{Name: "sidecar", Usage: kubeletstats.Usage{MilliCPU: 50, Memory: 16 << 20}},
		}},
		kubeletstats.Pod{Name: "db-1", Namespace: "default", UID: string(db.UID), Containers: []kubeletstats.Container{
			{Name: "db", Usage: kubeletstats.Usage{MilliCPU: 500, Memory: 256 << 20}},
		}},
	)
	return ts, k
}

func TestResourceMetrics(t *testing.T) {
	ts, k := metricsCluster(t)
	ctx := testContext(t)
	mc, err := metricsclient.NewForConfig(ts.Config)
	if err != nil {
		t.Fatal(err)
	}
	m := mc.MetricsV1beta1()

	nodes, err := m.NodeMetricses().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list node metrics: %v", err)
	}
	if len(nodes.Items) != 1 || nodes.Items[0].Name != "worker-1" {
		t.Fatalf("node metrics = %+v, want only the Ready worker-1", nodes.Items)
	}
	nm := nodes.Items[0]
	if cpu := nm.Usage[corev1.ResourceCPU]; !kubeletstats.Near(cpu, 1500) {
		t.Errorf("worker-1 cpu = %s, want about 1500m", cpu.String())
	}
	if mem := nm.Usage[corev1.ResourceMemory]; mem.Value() != 2<<30 {
		t.Errorf("worker-1 memory = %s, want 2Gi", mem.String())
	}
	if nm.Window.Duration <= 0 || time.Since(nm.Timestamp.Time) > time.Minute {
		t.Errorf("window %v, timestamp %v: want a positive window ending now", nm.Window.Duration, nm.Timestamp)
	}
	if nm.Labels["pool"] != "metrics" {
		t.Errorf("node metrics labels = %v, want the node's", nm.Labels)
	}

	pods, err := m.PodMetricses("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatalf("list pod metrics: %v", err)
	}
	if len(pods.Items) != 1 || pods.Items[0].Name != "web-1" {
		t.Fatalf("pod metrics for app=web = %+v, want web-1 only (elsewhere is on a NotReady node)", pods.Items)
	}
	want := map[string][2]int64{"app": {200, 64 << 20}, "sidecar": {50, 16 << 20}}
	if len(pods.Items[0].Containers) != 2 {
		t.Fatalf("web-1 containers = %+v", pods.Items[0].Containers)
	}
	for _, c := range pods.Items[0].Containers {
		w := want[c.Name]
		if cpu := c.Usage[corev1.ResourceCPU]; !kubeletstats.Near(cpu, w[0]) {
			t.Errorf("container %s cpu = %s, want about %dm", c.Name, cpu.String(), w[0])
		}
		if mem := c.Usage[corev1.ResourceMemory]; mem.Value() != w[1] {
			t.Errorf("container %s memory = %s, want %d", c.Name, mem.String(), w[1])
		}
	}

	db, err := m.PodMetricses("default").Get(ctx, "db-1", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get db-1 metrics: %v", err)
	}
	if cpu := db.Containers[0].Usage[corev1.ResourceCPU]; !kubeletstats.Near(cpu, 500) {
		t.Errorf("db-1 cpu = %s, want about 500m", cpu.String())
	}
	all, err := m.PodMetricses("").List(ctx, metav1.ListOptions{})
	if err != nil || len(all.Items) != 2 {
		t.Errorf("pod metrics in all namespaces = %v, %v; want web-1 and db-1", all, err)
	}

	// Within the resolution the kubelet is not asked again.
	before := k.Calls()
	if _, err := m.NodeMetricses().Get(ctx, "worker-1", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if after := k.Calls(); after != before {
		t.Errorf("kubelet scraped %d more times within the resolution", after-before)
	}

	if _, err := m.PodMetricses("default").Get(ctx, "ghost", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("metrics of a missing pod: err = %v, want 404", err)
	}
	if _, err := m.NodeMetricses().Get(ctx, "worker-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("metrics of a NotReady node: err = %v, want 404", err)
	}
	if _, err := m.PodMetricses("default").List(ctx, metav1.ListOptions{LabelSelector: "app in (web"}); !apierrors.IsBadRequest(err) {
		t.Errorf("bad label selector: err = %v, want 400", err)
	}
	if _, err := m.PodMetricses("default").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=x"}); !apierrors.IsBadRequest(err) {
		t.Errorf("unsupported field selector: err = %v, want 400", err)
	}
	if _, err := m.PodMetricses("").Get(ctx, "db-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get pod metrics without a namespace: err = %v, want 404", err)
	}
	if _, err := m.PodMetricses("default").Watch(ctx, metav1.ListOptions{}); !apierrors.IsMethodNotSupported(err) {
		t.Errorf("watch pod metrics: err = %v, want 405", err)
	}
}

func TestResourceMetricsDiscoveryAndTable(t *testing.T) {
	ts, _ := metricsCluster(t)
	ctx := testContext(t)
	list, err := ts.Client.Discovery().ServerResourcesForGroupVersion("metrics.k8s.io/v1beta1")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	got := map[string]bool{}
	for _, r := range list.APIResources {
		got[r.Name+"/"+r.Kind] = r.Namespaced
		if len(r.Verbs) != 2 || r.Verbs[0] != "get" || r.Verbs[1] != "list" {
			t.Errorf("%s verbs = %v, want [get list]", r.Name, r.Verbs)
		}
	}
	if ns, ok := got["nodes/NodeMetrics"]; !ok || ns {
		t.Errorf("discovery lacks cluster-scoped nodes (NodeMetrics): %v", got)
	}
	if ns, ok := got["pods/PodMetrics"]; !ok || !ns {
		t.Errorf("discovery lacks namespaced pods (PodMetrics): %v", got)
	}

	var table metav1.Table
	err = ts.Client.CoreV1().RESTClient().Get().AbsPath("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Into(&table)
	if err != nil {
		t.Fatalf("table: %v", err)
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if len(cols) != 4 || cols[0] != "Name" || cols[1] != "cpu" || cols[2] != "memory" || cols[3] != "Window" {
		t.Errorf("columns = %v, want [Name cpu memory Window]", cols)
	}
	rows := map[string][]any{}
	for _, r := range table.Rows {
		rows[r.Cells[0].(string)] = r.Cells
	}
	web, ok := rows["web-1"]
	if !ok || len(rows) != 2 {
		t.Fatalf("rows = %v, want web-1 and db-1", rows)
	}
	// The pod's row sums its containers: 64Mi + 16Mi.
	if web[2] != "80Mi" {
		t.Errorf("web-1 memory cell = %v, want 80Mi", web[2])
	}
	if q, err := resource.ParseQuantity(web[1].(string)); err != nil || !kubeletstats.Near(q, 250) {
		t.Errorf("web-1 cpu cell = %v, want about 250m", web[1])
	}
	var pm metricsv1beta1.PodMetrics
	if err := json.Unmarshal(table.Rows[0].Object.Raw, &pm); err != nil || pm.Name == "" {
		t.Errorf("row object = %s, want the row's metadata", table.Rows[0].Object.Raw)
	}
}
