package drain_test

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/e2e/clitest"
)

func makeNode(t *testing.T, c kubernetes.Interface, name string, labels map[string]string) {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := c.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

type podOption func(*corev1.Pod)

func ownedBy(kind, name string) podOption {
	return func(p *corev1.Pod) {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID("uid-" + name), Controller: &yes}}
	}
}

func withEmptyDir(p *corev1.Pod) {
	p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
}

func mirror(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"} }

func labeled(k, v string) podOption {
	return func(p *corev1.Pod) { p.Labels = map[string]string{k: v} }
}

func makePod(t *testing.T, c kubernetes.Interface, name, node string, opts ...podOption) {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	for _, o := range opts {
		o(p)
	}
	if _, err := c.CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func podExists(t *testing.T, c kubernetes.Interface, name string) bool {
	t.Helper()
	_, err := c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

func unschedulable(t *testing.T, c kubernetes.Interface, node string) bool {
	t.Helper()
	n, err := c.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n.Spec.Unschedulable
}

func TestCordon(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	makeNode(t, c, "node-1", map[string]string{"pool": "a"})
	makeNode(t, c, "node-2", map[string]string{"pool": "a"})

	tests := []struct {
		name     string
		args     []string
		wantOut  string
		wantErr  string
		wantCode int
		want     map[string]bool // node → unschedulable afterwards
	}{
		{name: "cordon", args: []string{"cordon", "node-1"}, wantOut: "node/node-1 cordoned\n", want: map[string]bool{"node-1": true}},
		{name: "cordon again", args: []string{"cordon", "node-1"}, wantOut: "node/node-1 already cordoned\n", want: map[string]bool{"node-1": true}},
		{name: "client dry run", args: []string{"cordon", "node-2", "--dry-run=client"}, wantOut: "node/node-2 cordoned (dry run)\n", want: map[string]bool{"node-2": false}},
		{name: "server dry run", args: []string{"cordon", "node-2", "--dry-run=server"}, wantOut: "node/node-2 cordoned (server dry run)\n", want: map[string]bool{"node-2": false}},
		{name: "selector", args: []string{"cordon", "-l", "pool=a"}, wantOut: "node/node-1 already cordoned\nnode/node-2 cordoned\n", want: map[string]bool{"node-1": true, "node-2": true}},
		{name: "uncordon", args: []string{"uncordon", "node-1"}, wantOut: "node/node-1 uncordoned\n", want: map[string]bool{"node-1": false, "node-2": true}},
		{name: "uncordon again", args: []string{"uncordon", "node-1"}, wantOut: "node/node-1 already uncordoned\n", want: map[string]bool{"node-1": false}},
		{name: "unknown node", args: []string{"cordon", "nope"}, wantErr: "Error from server (NotFound): nodes \"nope\" not found\n", wantCode: 1},
		{name: "no node", args: []string{"uncordon"}, wantErr: "error: USAGE: uncordon NODE [flags]\nSee 'navctl uncordon -h' for help and examples\n", wantCode: 1},
		{name: "name and selector", args: []string{"cordon", "node-1", "-l", "pool=a"}, wantErr: "error: cannot specify both a node name and a --selector option\nSee 'navctl cordon -h' for help and examples\n", wantCode: 1},
		{name: "bad dry run", args: []string{"cordon", "node-1", "--dry-run=maybe"}, wantErr: "error: Invalid dry-run value (maybe). Must be \"none\", \"server\", or \"client\".\n", wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", tt.args...)
			if r.Code != tt.wantCode || r.Stdout != tt.wantOut || r.Stderr != tt.wantErr {
				t.Errorf("navctl %s: exit %d, want %d\nstdout: %q\nwant:   %q\nstderr: %q\nwant:   %q",
					strings.Join(tt.args, " "), r.Code, tt.wantCode, r.Stdout, tt.wantOut, r.Stderr, tt.wantErr)
			}
			for node, want := range tt.want {
				if got := unschedulable(t, c, node); got != want {
					t.Errorf("%s unschedulable = %v, want %v", node, got, want)
				}
			}
		})
	}
}

func TestDrain(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
	if _, err := c.AppsV1().DaemonSets("default").Create(context.Background(), ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	type pod struct {
		name string
		opts []podOption
	}
	tests := []struct {
		name      string
		pods      []pod
		flags     []string
		wantCode  int
		wantOut   []string // lines stdout must hold
		wantErr   []string // lines stderr must hold
		wantGone  []string
		wantKept  []string
		cordoned  bool
		noWantOut []string
	}{
		{
			name:     "replicated pod is evicted",
			pods:     []pod{{"web", []podOption{ownedBy("ReplicaSet", "web")}}},
			flags:    []string{"--grace-period=0"},
			wantOut:  []string{"node/NODE cordoned", "evicting pod default/web", "pod/web evicted", "node/NODE drained"},
			wantGone: []string{"web"},
			cordoned: true,
		},
		{
			name:     "unmanaged pod blocks the drain",
			pods:     []pod{{"bare", nil}, {"web", []podOption{ownedBy("ReplicaSet", "web")}}},
			flags:    []string{"--grace-period=0"},
			wantCode: 1,
			wantOut:  []string{"node/NODE cordoned"},
			wantErr: []string{
				`error: unable to drain node "NODE" due to error: cannot delete cannot delete Pods that declare no controller (use --force to override): default/bare, continuing command...`,
				"There are pending nodes to be drained:",
				" NODE",
				"cannot delete cannot delete Pods that declare no controller (use --force to override): default/bare",
			},
			wantKept:  []string{"bare", "web"},
			cordoned:  true,
			noWantOut: []string{"drained"},
		},
		{
			name:     "force evicts unmanaged pods",
			pods:     []pod{{"bare", nil}},
			flags:    []string{"--force", "--grace-period=0"},
			wantOut:  []string{"evicting pod default/bare", "pod/bare evicted", "node/NODE drained"},
			wantErr:  []string{"Warning: deleting Pods that declare no controller: default/bare"},
			wantGone: []string{"bare"},
			cordoned: true,
		},
		{
			name:     "daemonset pods block the drain",
			pods:     []pod{{"agent-x", []podOption{ownedBy("DaemonSet", "agent")}}},
			flags:    []string{"--grace-period=0"},
			wantCode: 1,
			wantErr:  []string{"cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/agent-x"},
			wantKept: []string{"agent-x"},
			cordoned: true,
		},
		{
			name:     "ignored daemonset pods stay",
			pods:     []pod{{"agent-x", []podOption{ownedBy("DaemonSet", "agent")}}, {"web", []podOption{ownedBy("ReplicaSet", "web")}}},
			flags:    []string{"--ignore-daemonsets", "--grace-period=0"},
			wantOut:  []string{"pod/web evicted", "node/NODE drained"},
			wantErr:  []string{"Warning: ignoring DaemonSet-managed Pods: default/agent-x"},
			wantGone: []string{"web"},
			wantKept: []string{"agent-x"},
			cordoned: true,
		},
		{
			name:     "pod of a missing daemonset",
			pods:     []pod{{"orphan", []podOption{ownedBy("DaemonSet", "gone")}}},
			flags:    []string{"--ignore-daemonsets", "--grace-period=0"},
			wantCode: 1,
			wantErr:  []string{`cannot delete daemonsets.apps "gone" not found: default/orphan`},
			wantKept: []string{"orphan"},
			cordoned: true,
		},
		{
			name:     "emptyDir blocks the drain",
			pods:     []pod{{"cache", []podOption{ownedBy("ReplicaSet", "cache"), withEmptyDir}}},
			flags:    []string{"--grace-period=0"},
			wantCode: 1,
			wantErr:  []string{"cannot delete Pods with local storage (use --delete-emptydir-data to override): default/cache"},
			wantKept: []string{"cache"},
			cordoned: true,
		},
		{
			name:     "delete-emptydir-data",
			pods:     []pod{{"cache", []podOption{ownedBy("ReplicaSet", "cache"), withEmptyDir}}},
			flags:    []string{"--delete-emptydir-data", "--grace-period=0"},
			wantOut:  []string{"pod/cache evicted", "node/NODE drained"},
			wantGone: []string{"cache"},
			cordoned: true,
		},
		{
			name:     "mirror pods are skipped",
			pods:     []pod{{"static", []podOption{mirror}}},
			flags:    []string{"--grace-period=0"},
			wantOut:  []string{"node/NODE drained"},
			wantKept: []string{"static"},
			cordoned: true,
		},
		{
			name:      "pod selector",
			pods:      []pod{{"a", []podOption{ownedBy("ReplicaSet", "a"), labeled("tier", "a")}}, {"b", []podOption{labeled("tier", "b")}}},
			flags:     []string{"--pod-selector=tier=a", "--grace-period=0"},
			wantOut:   []string{"pod/a evicted", "node/NODE drained"},
			wantGone:  []string{"a"},
			wantKept:  []string{"b"},
			cordoned:  true,
			noWantOut: []string{"default/b"},
		},
		{
			name:     "disable eviction deletes",
			pods:     []pod{{"web", []podOption{ownedBy("ReplicaSet", "web")}}},
			flags:    []string{"--disable-eviction", "--grace-period=0"},
			wantOut:  []string{"pod/web deleted", "node/NODE drained"},
			wantGone: []string{"web"},
			cordoned: true,
		},
		{
			name:     "client dry run",
			pods:     []pod{{"bare", nil}},
			flags:    []string{"--force", "--dry-run=client"},
			wantOut:  []string{"node/NODE cordoned (dry run)", "evicting pod default/bare (dry run)", "node/NODE drained (dry run)"},
			wantKept: []string{"bare"},
		},
		{
			name:     "server dry run",
			pods:     []pod{{"web", []podOption{ownedBy("ReplicaSet", "web")}}},
			flags:    []string{"--dry-run=server"},
			wantOut:  []string{"node/NODE cordoned (server dry run)", "evicting pod default/web (server dry run)", "node/NODE drained (server dry run)"},
			wantKept: []string{"web"},
		},
		{
			name:     "timeout while the pod terminates",
			pods:     []pod{{"slow", []podOption{ownedBy("ReplicaSet", "slow")}}},
			flags:    []string{"--timeout=2s"},
			wantCode: 1,
			wantOut:  []string{"evicting pod default/slow"},
			wantErr: []string{
				`There are pending pods in node "NODE" when an error occurred: error when waiting for pod "slow" in namespace "default" to terminate: context deadline exceeded`,
				"pod/slow",
				`error when waiting for pod "slow" in namespace "default" to terminate: context deadline exceeded`,
			},
			wantKept: []string{"slow"},
			cordoned: true,
		},
		{
			name:     "bad pod selector",
			flags:    []string{"--pod-selector=a b"},
			wantCode: 1,
			wantErr:  []string{"error: --pod-selector=<pod_selector> must be a valid label selector"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := "drain-" + string(rune('a'+i))
			makeNode(t, c, node, nil)
			for _, p := range tt.pods {
				makePod(t, c, p.name, node, p.opts...)
			}
			defer func() {
				for _, p := range tt.pods {
					zero := int64(0)
					_ = c.CoreV1().Pods("default").Delete(context.Background(), p.name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
				}
			}()
			r := env.Run(t, "", append([]string{"drain", node}, tt.flags...)...)
			if r.Code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.Code, tt.wantCode, r.Stdout, r.Stderr)
			}
			hasLines(t, "stdout", r.Stdout, tt.wantOut, node)
			hasLines(t, "stderr", r.Stderr, tt.wantErr, node)
			for _, s := range tt.noWantOut {
				if strings.Contains(r.Stdout, s) {
					t.Errorf("stdout holds %q:\n%s", s, r.Stdout)
				}
			}
			for _, p := range tt.wantGone {
				if podExists(t, c, p) {
					t.Errorf("pod %s still exists", p)
				}
			}
			for _, p := range tt.wantKept {
				if !podExists(t, c, p) {
					t.Errorf("pod %s is gone", p)
				}
			}
			if got := unschedulable(t, c, node); got != tt.cordoned {
				t.Errorf("node unschedulable = %v, want %v", got, tt.cordoned)
			}
		})
	}
}

// TestDrainWaitsForGracefulTermination evicts with the pod's own grace
// period: the pod only goes when its node's kubelet (played here by the
// test) finishes the deletion, and drain waits for that.
func TestDrainWaitsForGracefulTermination(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	makeNode(t, c, "node-g", nil)
	makePod(t, c, "web-1", "node-g", ownedBy("ReplicaSet", "web"))
	makePod(t, c, "web-2", "node-g", ownedBy("ReplicaSet", "web"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fakeKubelet(ctx, c, "node-g")
	}()

	out := env.OK(t, "", "drain", "node-g")
	hasLines(t, "stdout", out, []string{"node/node-g cordoned", "evicting pod default/web-1", "evicting pod default/web-2", "pod/web-1 evicted", "pod/web-2 evicted", "node/node-g drained"}, "")
	if !strings.HasSuffix(out, "node/node-g drained\n") {
		t.Errorf("want drained last:\n%s", out)
	}
	cancel()
	<-done
}

// fakeKubelet finishes the deletion of the node's pods once it has begun.
func fakeKubelet(ctx context.Context, c kubernetes.Interface, node string) {
	w, err := c.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
	if err != nil {
		return
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || p.DeletionTimestamp == nil {
			continue
		}
		zero := int64(0)
		_ = c.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	}
}

func hasLines(t *testing.T, stream, got string, want []string, node string) {
	t.Helper()
	lines := map[string]bool{}
	for _, l := range strings.Split(got, "\n") {
		lines[l] = true
	}
	for _, w := range want {
		if node != "" {
			w = strings.ReplaceAll(w, "NODE", node)
		}
		if !lines[w] {
			t.Errorf("%s lacks the line %q:\n%s", stream, w, got)
		}
	}
}
