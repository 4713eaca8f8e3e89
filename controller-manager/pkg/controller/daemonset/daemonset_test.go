package daemonset

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"navarch.dev/controller-manager/pkg/controller/controllertest"
	"navarch.dev/controller-manager/pkg/controller/revision"
)

var now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

type dsOpt func(*appsv1.DaemonSet)

func makeDS(opts ...dsOpt) *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "kube-system", UID: "ds-uid", Generation: 1},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "agent:1"}}},
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromInt32(1))}},
		},
	}
	for _, o := range opts {
		o(ds)
	}
	return ds
}

func currentHash(ds *appsv1.DaemonSet) string {
	data, _ := revision.Data(&ds.Spec.Template)
	return revision.Hash(data, nil)
}

type nodeOpt func(*corev1.Node)

func makeNode(name string, opts ...nodeOpt) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	for _, o := range opts {
		o(n)
	}
	return n
}

func label(k, v string) nodeOpt { return func(n *corev1.Node) { n.Labels[k] = v } }
func taint(key string, effect corev1.TaintEffect) nodeOpt {
	return func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Effect: effect}) }
}

type podOpt func(*corev1.Pod)

func makePod(name, node, hash string, opts ...podOpt) *corev1.Pod {
	ds := makeDS()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "kube-system", UID: types.UID(name),
			Labels:            map[string]string{"app": "agent", revision.HashLabel: hash},
			OwnerReferences:   []metav1.OwnerReference{*metav1.NewControllerRef(ds, controllerKind)},
			CreationTimestamp: metav1.Time{Time: now.Add(-time.Hour)},
		},
		Spec:   corev1.PodSpec{NodeName: node},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func ready(p *corev1.Pod) {
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Time{Time: now.Add(-time.Hour)}}}
}
func failed(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }

func createdNodes(actions []clienttesting.Action) []string {
	var out []string
	for _, a := range actions {
		if a.GetVerb() == "create" && a.GetResource().Resource == "pods" {
			out = append(out, nodeOf(a.(clienttesting.CreateAction).GetObject().(*corev1.Pod)))
		}
	}
	sort.Strings(out)
	return out
}

func deleted(actions []clienttesting.Action) []string {
	var out []string
	for _, a := range actions {
		if a.GetVerb() == "delete" && a.GetResource().Resource == "pods" {
			out = append(out, a.(clienttesting.DeleteAction).GetName())
		}
	}
	sort.Strings(out)
	return out
}

func TestSync(t *testing.T) {
	ds := makeDS()
	hash := currentHash(ds)
	tests := []struct {
		name        string
		ds          *appsv1.DaemonSet
		nodes       []*corev1.Node
		pods        []*corev1.Pod
		wantCreated []string
		wantDeleted []string
		wantDesired int32
	}{
		{
			name:        "one pod per node",
			ds:          ds,
			nodes:       []*corev1.Node{makeNode("n1"), makeNode("n2"), makeNode("n3")},
			wantCreated: []string{"n1", "n2", "n3"},
			wantDesired: 3,
		},
		{
			name:        "nodeSelector",
			ds:          makeDS(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			nodes:       []*corev1.Node{makeNode("n1", label("disk", "ssd")), makeNode("n2")},
			wantCreated: []string{"n1"},
			wantDesired: 1,
		},
		{
			name: "required node affinity",
			ds: makeDS(func(d *appsv1.DaemonSet) {
				d.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a", "b"}}}}},
				}}}
			}),
			nodes:       []*corev1.Node{makeNode("n1", label("zone", "a")), makeNode("n2", label("zone", "c")), makeNode("n3")},
			wantCreated: []string{"n1"},
			wantDesired: 1,
		},
		{
			name: "untolerated NoSchedule taint blocks, default tolerations admit not-ready and cordoned nodes",
			ds:   ds,
			nodes: []*corev1.Node{
				makeNode("n1", taint("dedicated", corev1.TaintEffectNoSchedule)),
				makeNode("n2", taint(TaintNodeNotReady, corev1.TaintEffectNoExecute)),
				makeNode("n3", taint(TaintNodeUnschedulable, corev1.TaintEffectNoSchedule)),
				makeNode("n4", taint("soft", corev1.TaintEffectPreferNoSchedule)),
			},
			wantCreated: []string{"n2", "n3", "n4"},
			wantDesired: 3,
		},
		{
			name: "default tolerations admit nodes under pressure; network-unavailable only hostNetwork pods",
			ds:   ds,
			nodes: []*corev1.Node{
				makeNode("n1", taint(TaintNodeMemoryPressure, corev1.TaintEffectNoSchedule)),
				makeNode("n2", taint(TaintNodeDiskPressure, corev1.TaintEffectNoSchedule), taint(TaintNodePIDPressure, corev1.TaintEffectNoSchedule)),
				makeNode("n3", taint(TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)),
			},
			wantCreated: []string{"n1", "n2"},
			wantDesired: 2,
		},
		{
			name: "a hostNetwork daemon tolerates network-unavailable",
			ds:   makeDS(func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.HostNetwork = true }),
			nodes: []*corev1.Node{
				makeNode("n1", taint(TaintNodeNetworkUnavailable, corev1.TaintEffectNoSchedule)),
			},
			wantCreated: []string{"n1"},
			wantDesired: 1,
		},
		{
			name: "a tolerated taint admits",
			ds: makeDS(func(d *appsv1.DaemonSet) {
				d.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
			}),
			nodes:       []*corev1.Node{makeNode("n1", taint("dedicated", corev1.TaintEffectNoSchedule))},
			wantCreated: []string{"n1"},
			wantDesired: 1,
		},
		{
			name:        "NoSchedule keeps a running pod, NoExecute evicts it",
			ds:          ds,
			nodes:       []*corev1.Node{makeNode("n1", taint("a", corev1.TaintEffectNoSchedule)), makeNode("n2", taint("b", corev1.TaintEffectNoExecute))},
			pods:        []*corev1.Pod{makePod("p1", "n1", hash), makePod("p2", "n2", hash)},
			wantDeleted: []string{"p2"},
		},
		{
			name:        "pods on vanished nodes and failed pods are deleted",
			ds:          ds,
			nodes:       []*corev1.Node{makeNode("n1")},
			pods:        []*corev1.Pod{makePod("p1", "n1", hash, failed), makePod("gone", "n9", hash)},
			wantCreated: []string{"n1"},
			wantDeleted: []string{"gone", "p1"},
			wantDesired: 1,
		},
		{
			name:        "duplicates on a node keep the oldest",
			ds:          ds,
			nodes:       []*corev1.Node{makeNode("n1")},
			pods:        []*corev1.Pod{makePod("old", "n1", hash), makePod("new", "n1", hash, func(p *corev1.Pod) { p.CreationTimestamp = metav1.Time{Time: now} })},
			wantDeleted: []string{"new"},
			wantDesired: 1,
		},
		{
			name:        "rolling update replaces one available pod at a time",
			ds:          ds,
			nodes:       []*corev1.Node{makeNode("n1"), makeNode("n2"), makeNode("n3")},
			pods:        []*corev1.Pod{makePod("a", "n1", "old", ready), makePod("b", "n2", "old", ready), makePod("c", "n3", "old", ready)},
			wantDeleted: []string{"a"},
			wantDesired: 3,
		},
		{
			name:        "rolling update deletes unavailable old pods without budget",
			ds:          ds,
			nodes:       []*corev1.Node{makeNode("n1"), makeNode("n2"), makeNode("n3")},
			pods:        []*corev1.Pod{makePod("a", "n1", "old"), makePod("b", "n2", "old", ready), makePod("c", "n3", hash)},
			wantDeleted: []string{"a"},
			wantDesired: 3,
		},
		{
			name: "maxUnavailable 50% of 4",
			ds: makeDS(func(d *appsv1.DaemonSet) {
				d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromString("50%"))
			}),
			nodes:       []*corev1.Node{makeNode("n1"), makeNode("n2"), makeNode("n3"), makeNode("n4")},
			pods:        []*corev1.Pod{makePod("a", "n1", "old", ready), makePod("b", "n2", "old", ready), makePod("c", "n3", "old", ready), makePod("d", "n4", "old", ready)},
			wantDeleted: []string{"a", "b"},
			wantDesired: 4,
		},
		{
			name: "OnDelete leaves old pods",
			ds: makeDS(func(d *appsv1.DaemonSet) {
				d.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
			}),
			nodes:       []*corev1.Node{makeNode("n1")},
			pods:        []*corev1.Pod{makePod("a", "n1", "old", ready)},
			wantDesired: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := []runtime.Object{tt.ds}
			for _, n := range tt.nodes {
				objs = append(objs, n)
			}
			for _, p := range tt.pods {
				objs = append(objs, p)
			}
			client := fake.NewClientset(objs...)
			controllertest.GenerateNames(client)
			f := informers.NewSharedInformerFactory(client, 0)
			c := NewController(client, f.Apps().V1().DaemonSets(), f.Apps().V1().ControllerRevisions(), f.Core().V1().Pods(), f.Core().V1().Nodes(),
				record.NewFakeRecorder(100), clocktesting.NewFakeClock(now))
			_ = f.Apps().V1().DaemonSets().Informer().GetIndexer().Add(tt.ds)
			for _, n := range tt.nodes {
				_ = f.Core().V1().Nodes().Informer().GetIndexer().Add(n)
			}
			for _, p := range tt.pods {
				_ = f.Core().V1().Pods().Informer().GetIndexer().Add(p)
			}
			client.ClearActions()
			if err := c.sync(context.Background(), "kube-system/agent"); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got := createdNodes(client.Actions()); fmt.Sprint(got) != fmt.Sprint(tt.wantCreated) {
				t.Errorf("created on %v, want %v", got, tt.wantCreated)
			}
			if got := deleted(client.Actions()); fmt.Sprint(got) != fmt.Sprint(tt.wantDeleted) {
				t.Errorf("deleted %v, want %v", got, tt.wantDeleted)
			}
			got, err := client.AppsV1().DaemonSets("kube-system").Get(context.Background(), "agent", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.DesiredNumberScheduled != tt.wantDesired {
				t.Errorf("desiredNumberScheduled = %d, want %d", got.Status.DesiredNumberScheduled, tt.wantDesired)
			}
		})
	}
}

func TestCreatedPodShape(t *testing.T) {
	ds := makeDS()
	node := makeNode("n1")
	client := fake.NewClientset(ds, node)
	controllertest.GenerateNames(client)
	f := informers.NewSharedInformerFactory(client, 0)
	c := NewController(client, f.Apps().V1().DaemonSets(), f.Apps().V1().ControllerRevisions(), f.Core().V1().Pods(), f.Core().V1().Nodes(),
		record.NewFakeRecorder(100), clocktesting.NewFakeClock(now))
	_ = f.Apps().V1().DaemonSets().Informer().GetIndexer().Add(ds)
	_ = f.Core().V1().Nodes().Informer().GetIndexer().Add(node)
	if err := c.sync(context.Background(), "kube-system/agent"); err != nil {
		t.Fatal(err)
	}
	pods, _ := client.CoreV1().Pods("kube-system").List(context.Background(), metav1.ListOptions{})
	if len(pods.Items) != 1 {
		t.Fatalf("pods = %d", len(pods.Items))
	}
	p := pods.Items[0]
	if p.Spec.NodeName != "" || nodeOf(&p) != "n1" {
		t.Errorf("pod should be pinned to n1 by affinity, got nodeName %q affinity %+v", p.Spec.NodeName, p.Spec.Affinity)
	}
	if len(p.Spec.Tolerations) != 6 {
		t.Errorf("tolerations = %v, want the 6 defaults", p.Spec.Tolerations)
	}
	if p.Labels[revision.HashLabel] != currentHash(ds) || p.Labels[TemplateGenerationLabel] != "1" {
		t.Errorf("labels = %v", p.Labels)
	}
	revs, _ := client.AppsV1().ControllerRevisions("kube-system").List(context.Background(), metav1.ListOptions{})
	if len(revs.Items) != 1 || revs.Items[0].Revision != 1 {
		t.Errorf("revisions = %+v", revs.Items)
	}
}
