package resourcemetrics

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"navarch.dev/apiserver/pkg/endpoints"
)

var (
	gv           = metricsv1beta1.SchemeGroupVersion
	nodesGR      = schema.GroupResource{Group: gv.Group, Resource: "nodemetrics"}
	podsGR       = schema.GroupResource{Group: gv.Group, Resource: "podmetrics"}
	listVerbs    = []string{"get", "list"}
	apiVersion   = gv.String()
	resourceKeys = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}
)

// Register adds nodes and pods of metrics.k8s.io/v1beta1 to api.
func (p *Provider) Register(api *endpoints.API) {
	api.Handle(endpoints.HandledResource{GroupVersion: gv, Plural: "nodes", Kind: "NodeMetrics", Verbs: listVerbs, Serve: p.serveNodes})
	api.Handle(endpoints.HandledResource{GroupVersion: gv, Plural: "pods", Kind: "PodMetrics", Namespaced: true, Verbs: listVerbs, Serve: p.servePods})
}

// selectors reads labelSelector and fieldSelector (metadata.name and, for
// namespaced kinds, metadata.namespace).
func selectors(r *http.Request) (labels.Selector, fields.Selector, error) {
	q := r.URL.Query()
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	for _, req := range fs.Requirements() {
		if req.Field != "metadata.name" && req.Field != "metadata.namespace" {
			return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	return ls, fs, nil
}

func (p *Provider) serveNodes(w http.ResponseWriter, r *http.Request, ri *endpoints.RequestInfo) {
	ls, fs, err := selectors(r)
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	all, err := p.Source.Nodes(r.Context())
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	var nodes []*corev1.Node
	for _, n := range all {
		switch {
		case ri.Name != "":
			if n.Name != ri.Name {
				continue
			}
		case !ls.Matches(labels.Set(n.Labels)) || !fs.Matches(fields.Set{"metadata.name": n.Name}):
			continue
		}
		nodes = append(nodes, n)
	}
	items := p.NodeMetrics(r.Context(), nodes)
	if ri.Name != "" {
		if len(items) == 0 {
			endpoints.WriteError(w, apierrors.NewNotFound(nodesGR, ri.Name))
			return
		}
		writeOne(w, r, &items[0], nodeTable)
		return
	}
	list := &metricsv1beta1.NodeMetricsList{TypeMeta: metav1.TypeMeta{Kind: "NodeMetricsList", APIVersion: apiVersion}, Items: items}
	if list.Items == nil {
		list.Items = []metricsv1beta1.NodeMetrics{}
	}
	writeList(w, r, list, func(includeObject string) *metav1.Table { return nodeTable(items, includeObject) })
}

// NodeMetrics returns the metrics of the Ready nodes among nodes whose
// kubelets answer, sorted by name.
func (p *Provider) NodeMetrics(ctx context.Context, nodes []*corev1.Node) []metricsv1beta1.NodeMetrics {
	scrapes := p.scrapes(ctx, nodes)
	now := metav1.Now()
	var items []metricsv1beta1.NodeMetrics
	for _, n := range nodes {
		u, ok := nodeUsage(scrapes[n.Name])
		if !ok {
			continue
		}
		items = append(items, metricsv1beta1.NodeMetrics{
			TypeMeta:   metav1.TypeMeta{Kind: "NodeMetrics", APIVersion: apiVersion},
			ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels, CreationTimestamp: now},
			Timestamp:  metav1.NewTime(u.ts),
			Window:     metav1.Duration{Duration: u.window.Round(time.Millisecond)},
			Usage:      corev1.ResourceList{corev1.ResourceCPU: u.cpu, corev1.ResourceMemory: u.memory},
		})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	return items
}

func (p *Provider) servePods(w http.ResponseWriter, r *http.Request, ri *endpoints.RequestInfo) {
	ls, fs, err := selectors(r)
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	all, err := p.Source.Pods(r.Context(), ri.Namespace)
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	var pods []*corev1.Pod
	for _, pod := range all {
		switch {
		case ri.Name != "":
			if pod.Name != ri.Name {
				continue
			}
		case !ls.Matches(labels.Set(pod.Labels)) || !fs.Matches(fields.Set{"metadata.name": pod.Name, "metadata.namespace": pod.Namespace}):
			continue
		}
		pods = append(pods, pod)
	}
	items, err := p.PodMetrics(r.Context(), pods)
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	if ri.Name != "" {
		if len(items) == 0 {
			endpoints.WriteError(w, apierrors.NewNotFound(podsGR, ri.Name))
			return
		}
		writeOne(w, r, &items[0], podTable)
		return
	}
	list := &metricsv1beta1.PodMetricsList{TypeMeta: metav1.TypeMeta{Kind: "PodMetricsList", APIVersion: apiVersion}, Items: items}
	if list.Items == nil {
		list.Items = []metricsv1beta1.PodMetrics{}
	}
	writeList(w, r, list, func(includeObject string) *metav1.Table { return podTable(items, includeObject) })
}

// PodMetrics returns the metrics of pods running on Ready nodes whose
// kubelets answer, sorted by namespace and name.
func (p *Provider) PodMetrics(ctx context.Context, pods []*corev1.Pod) ([]metricsv1beta1.PodMetrics, error) {
	onNode := map[string]bool{}
	for _, pod := range pods {
		if pod.Spec.NodeName != "" {
			onNode[pod.Spec.NodeName] = true
		}
	}
	if len(onNode) == 0 {
		return nil, nil
	}
	allNodes, err := p.Source.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	var nodes []*corev1.Node
	for _, n := range allNodes {
		if onNode[n.Name] {
			nodes = append(nodes, n)
		}
	}
	scrapes := p.scrapes(ctx, nodes)
	now := metav1.Now()
	var items []metricsv1beta1.PodMetrics
	for _, pod := range pods {
		s, ok := scrapes[pod.Spec.NodeName]
		if !ok {
			continue
		}
		names, us, ok := containerUsage(s, string(pod.UID))
		if !ok {
			continue
		}
		pm := metricsv1beta1.PodMetrics{
			TypeMeta:   metav1.TypeMeta{Kind: "PodMetrics", APIVersion: apiVersion},
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels, CreationTimestamp: now},
			Timestamp:  metav1.NewTime(us[0].ts),
			Window:     metav1.Duration{Duration: us[0].window.Round(time.Millisecond)},
			Containers: make([]metricsv1beta1.ContainerMetrics, 0, len(us)),
		}
		for i, u := range us {
			pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{
				Name:  names[i],
				Usage: corev1.ResourceList{corev1.ResourceCPU: u.cpu, corev1.ResourceMemory: u.memory},
			})
		}
		items = append(items, pm)
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].Namespace != items[j].Namespace {
			return items[i].Namespace < items[j].Namespace
		}
		return items[i].Name < items[j].Name
	})
	return items, nil
}

func writeOne[T metricsv1beta1.NodeMetrics | metricsv1beta1.PodMetrics](w http.ResponseWriter, r *http.Request, item *T, table func([]T, string) *metav1.Table) {
	asTable, err := endpoints.WantsTable(r)
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	if asTable {
		endpoints.WriteJSON(w, http.StatusOK, table([]T{*item}, r.URL.Query().Get("includeObject")))
		return
	}
	endpoints.WriteJSON(w, http.StatusOK, item)
}

func writeList(w http.ResponseWriter, r *http.Request, list runtime.Object, table func(includeObject string) *metav1.Table) {
	asTable, err := endpoints.WantsTable(r)
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	if asTable {
		endpoints.WriteJSON(w, http.StatusOK, table(r.URL.Query().Get("includeObject")))
		return
	}
	endpoints.WriteJSON(w, http.StatusOK, list)
}

// Tables have metrics-server's columns: Name, one per resource, Window.
func tableColumns() []metav1.TableColumnDefinition {
	cols := []metav1.TableColumnDefinition{{Name: "Name", Type: "string", Format: "name", Description: "Name of the resource"}}
	for _, r := range resourceKeys {
		cols = append(cols, metav1.TableColumnDefinition{Name: string(r), Type: "string", Format: "quantity", Description: "Usage of " + string(r)})
	}
	return append(cols, metav1.TableColumnDefinition{Name: "Window", Type: "string", Format: "duration", Description: "Window of the usage"})
}

func row(name string, usage corev1.ResourceList, window time.Duration, obj runtime.Object, includeObject string) metav1.TableRow {
	cells := []interface{}{name}
	for _, r := range resourceKeys {
		q := usage[r]
		cells = append(cells, q.String())
	}
	cells = append(cells, window.String())
	tr := metav1.TableRow{Cells: cells}
	var embed any
	switch includeObject {
	case "None":
	case "Object":
		embed = obj
	default:
		embed = endpoints.PartialMetadata(obj)
	}
	if embed != nil {
		if raw, err := json.Marshal(embed); err == nil {
			tr.Object = runtime.RawExtension{Raw: raw}
		}
	}
	return tr
}

func newTable() *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: tableColumns(), Rows: []metav1.TableRow{}}
	t.Kind, t.APIVersion = "Table", "meta.k8s.io/v1"
	return t
}

func nodeTable(items []metricsv1beta1.NodeMetrics, includeObject string) *metav1.Table {
	t := newTable()
	for i := range items {
		t.Rows = append(t.Rows, row(items[i].Name, items[i].Usage, items[i].Window.Duration, &items[i], includeObject))
	}
	return t
}

func podTable(items []metricsv1beta1.PodMetrics, includeObject string) *metav1.Table {
	t := newTable()
	for i := range items {
		sum := corev1.ResourceList{}
		for _, c := range items[i].Containers {
			for _, r := range resourceKeys {
				q := sum[r]
				q.Add(c.Usage[r])
				sum[r] = q
			}
		}
		t.Rows = append(t.Rows, row(items[i].Name, sum, items[i].Window.Duration, &items[i], includeObject))
	}
	return t
}
