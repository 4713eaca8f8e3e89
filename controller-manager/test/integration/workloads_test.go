package integration

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	apps "k8s.io/api/apps/v1"
	batch "k8s.io/api/batch/v1"
	coordination "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"navarch.dev/apiserver/testserver"
	"navarch.dev/controller-manager/pkg/app"
)

// startControllersWith is startControllers with options of the test's own.
func startControllersWith(t *testing.T, ts *testserver.TestServer, opts app.ControllerOptions, names ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := app.RunControllers(ctx, ts.Client, ts.Config, opts, names); err != nil {
			t.Errorf("controllers: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

func container() []v1.Container { return []v1.Container{{Name: "c", Image: "busybox"}} }

func TestStatefulSetCreatesInOrder(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "statefulset")
	const ns = "sts"
	createNamespace(t, ts.Client, ns)
	ctx := context.Background()
	sel := map[string]string{"app": "web"}
	set := &apps.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: apps.StatefulSetSpec{
			Replicas:    ptr.To[int32](3),
			ServiceName: "web",
			Selector:    &metav1.LabelSelector{MatchLabels: sel},
			Template:    v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: v1.PodSpec{Containers: container()}},
			VolumeClaimTemplates: []v1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: v1.PersistentVolumeClaimSpec{
					AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
					Resources:   v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
	if _, err := ts.Client.AppsV1().StatefulSets(ns).Create(ctx, set, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k := kubelet{client: ts.Client, ns: ns}
	poll(t, "3 ordered replicas", func(ctx context.Context) (bool, error) {
		pods, err := ts.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		// Every observation: the pods are web-0..web-(n-1), and at most the
		// last of them is not ready.
		var names []string
		notReady := 0
		for _, p := range pods.Items {
			names = append(names, p.Name)
			if !podReady(&p) {
				notReady++
			}
		}
		sort.Strings(names)
		for i, n := range names {
			if n != fmt.Sprintf("web-%d", i) {
				t.Fatalf("pods %v are not a prefix of the ordinals", names)
			}
		}
		if notReady > 1 {
			t.Fatalf("%d pods not ready at once under OrderedReady: %v", notReady, names)
		}
		if len(names) == 3 && notReady == 0 {
			return true, nil
		}
		// Ready one pod per pass, like a slow kubelet.
		_, err = k.step(ctx, 1)
		return false, err
	})
	for i := range 3 {
		if _, err := ts.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, fmt.Sprintf("data-web-%d", i), metav1.GetOptions{}); err != nil {
			t.Errorf("claim of web-%d: %v", i, err)
		}
	}
	poll(t, "status readyReplicas 3", func(ctx context.Context) (bool, error) {
		s, err := ts.Client.AppsV1().StatefulSets(ns).Get(ctx, "web", metav1.GetOptions{})
		return err == nil && s.Status.ReadyReplicas == 3 && s.Status.CurrentRevision != "", err
	})
}

func makeNode(ctx context.Context, t *testing.T, client kubernetes.Interface, name string, labels map[string]string) {
	t.Helper()
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// daemonNodes returns the nodes the DaemonSet's live pods are pinned to.
func daemonNodes(ctx context.Context, client kubernetes.Interface, ns string) ([]string, error) {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		a := p.Spec.Affinity
		if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
			return nil, fmt.Errorf("pod %s is not pinned to a node", p.Name)
		}
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range term.MatchFields {
				out = append(out, f.Values...)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func TestDaemonSetFollowsNodes(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "daemonset")
	const ns = "ds"
	createNamespace(t, ts.Client, ns)
	ctx := context.Background()
	makeNode(ctx, t, ts.Client, "n1", map[string]string{"role": "worker"})
	makeNode(ctx, t, ts.Client, "n2", map[string]string{"role": "worker"})
	makeNode(ctx, t, ts.Client, "db", map[string]string{"role": "db"})
	sel := map[string]string{"app": "agent"}
	ds := &apps.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: apps.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: v1.PodSpec{
				Containers: container(), NodeSelector: map[string]string{"role": "worker"},
			}},
		},
	}
	if _, err := ts.Client.AppsV1().DaemonSets(ns).Create(ctx, ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k := kubelet{client: ts.Client, ns: ns}
	waitNodes := func(want string) {
		t.Helper()
		poll(t, "daemon pods on "+want, func(ctx context.Context) (bool, error) {
			if _, err := k.step(ctx, -1); err != nil {
				return false, err
			}
			got, err := daemonNodes(ctx, ts.Client, ns)
			return fmt.Sprint(got) == want, err
		})
	}
	waitNodes("[n1 n2]")
	makeNode(ctx, t, ts.Client, "n3", map[string]string{"role": "worker"})
	waitNodes("[n1 n2 n3]")
	if err := ts.Client.CoreV1().Nodes().Delete(ctx, "n1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitNodes("[n2 n3]")
	poll(t, "status of 2 desired", func(ctx context.Context) (bool, error) {
		d, err := ts.Client.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		return err == nil && d.Status.DesiredNumberScheduled == 2 && d.Status.CurrentNumberScheduled == 2, err
	})
}

func newJob(name string, completions, parallelism, backoffLimit int32) *batch.Job {
	return &batch.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batch.JobSpec{
			Completions: ptr.To(completions), Parallelism: ptr.To(parallelism), BackoffLimit: ptr.To(backoffLimit),
			Template: v1.PodTemplateSpec{Spec: v1.PodSpec{RestartPolicy: v1.RestartPolicyNever, Containers: container()}},
		},
	}
}

// finishPods plays the kubelet for a Job: every running pod ends in phase.
func finishPods(ctx context.Context, client kubernetes.Interface, ns, job string, phase v1.PodPhase) error {
	pods, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: batch.JobNameLabel + "=" + job})
	if err != nil {
		return err
	}
	for _, p := range pods.Items {
		if p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed || p.DeletionTimestamp != nil {
			continue
		}
		p.Status.Phase = phase
		if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, &p, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	return nil
}

func jobCondition(j *batch.Job, t batch.JobConditionType) *batch.JobCondition {
	for i := range j.Status.Conditions {
		if j.Status.Conditions[i].Type == t && j.Status.Conditions[i].Status == v1.ConditionTrue {
			return &j.Status.Conditions[i]
		}
	}
	return nil
}

func TestJobCompletesAndFailingJobHitsBackoffLimit(t *testing.T) {
	ts := testserver.Start(t)
	startControllers(t, ts, "job")
	const ns = "jobs"
	createNamespace(t, ts.Client, ns)
	ctx := context.Background()

	if _, err := ts.Client.BatchV1().Jobs(ns).Create(ctx, newJob("ok", 3, 2, 6), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "job ok to complete", func(ctx context.Context) (bool, error) {
		if err := finishPods(ctx, ts.Client, ns, "ok", v1.PodSucceeded); err != nil {
			return false, err
		}
		j, err := ts.Client.BatchV1().Jobs(ns).Get(ctx, "ok", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if j.Status.Active > 2 {
			t.Fatalf("%d active pods, parallelism is 2", j.Status.Active)
		}
		return jobCondition(j, batch.JobComplete) != nil, nil
	})
	j, _ := ts.Client.BatchV1().Jobs(ns).Get(ctx, "ok", metav1.GetOptions{})
	if j.Status.Succeeded != 3 || j.Status.CompletionTime == nil {
		t.Errorf("completed job status: succeeded %d completionTime %v", j.Status.Succeeded, j.Status.CompletionTime)
	}

	if _, err := ts.Client.BatchV1().Jobs(ns).Create(ctx, newJob("bad", 1, 1, 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "job bad to fail", func(ctx context.Context) (bool, error) {
		if err := finishPods(ctx, ts.Client, ns, "bad", v1.PodFailed); err != nil {
			return false, err
		}
		j, err := ts.Client.BatchV1().Jobs(ns).Get(ctx, "bad", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		c := jobCondition(j, batch.JobFailed)
		if c == nil {
			return false, nil
		}
		if c.Reason != "BackoffLimitExceeded" {
			t.Fatalf("failed with reason %q", c.Reason)
		}
		return j.Status.Failed == 3 && len(j.Status.UncountedTerminatedPods.Failed) == 0, nil
	})
	// Counted pods lose the tracking finalizer.
	pods, err := ts.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: batch.JobNameLabel + "=bad"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 3 {
		t.Errorf("%d pods for a backoffLimit of 2, want 3", len(pods.Items))
	}
	for _, p := range pods.Items {
		if len(p.Finalizers) != 0 {
			t.Errorf("pod %s keeps finalizers %v", p.Name, p.Finalizers)
		}
	}
}

func TestSilentNodeIsTaintedAndPodsReplaced(t *testing.T) {
	ts := testserver.Start(t)
	opts := app.NewOptions().ControllerOptions
	opts.NodeMonitorPeriod = 200 * time.Millisecond
	opts.NodeMonitorGracePeriod = 2 * time.Second
	opts.NodeEvictionRate = 10
	startControllersWith(t, ts, opts, "nodelifecycle", "replicaset")
	const ns = "evict"
	createNamespace(t, ts.Client, ns)
	ctx := context.Background()

	for _, name := range []string{"dying", "healthy"} {
		makeNode(ctx, t, ts.Client, name, nil)
		n, _ := ts.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		n.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady",
			LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
		if _, err := ts.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The healthy node's kubelet renews its Lease; the dying one's never does.
	lease := &coordination.Lease{ObjectMeta: metav1.ObjectMeta{Name: "healthy", Namespace: v1.NamespaceNodeLease},
		Spec: coordination.LeaseSpec{HolderIdentity: ptr.To("healthy"), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &metav1.MicroTime{Time: time.Now()}}}
	createNamespace(t, ts.Client, v1.NamespaceNodeLease)
	if _, err := ts.Client.CoordinationV1().Leases(v1.NamespaceNodeLease).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	heartbeatCtx, stopHeartbeat := context.WithCancel(ctx)
	defer stopHeartbeat()
	go func() {
		for heartbeatCtx.Err() == nil {
			l, err := ts.Client.CoordinationV1().Leases(v1.NamespaceNodeLease).Get(heartbeatCtx, "healthy", metav1.GetOptions{})
			if err == nil {
				l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
				_, _ = ts.Client.CoordinationV1().Leases(v1.NamespaceNodeLease).Update(heartbeatCtx, l, metav1.UpdateOptions{})
			}
			select {
			case <-heartbeatCtx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()

	sel := map[string]string{"app": "web"}
	rs := &apps.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: apps.ReplicaSetSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: v1.PodSpec{
				Containers: container(),
				// A short toleration instead of the default 300s.
				Tolerations: []v1.Toleration{
					{Key: "node.kubernetes.io/unreachable", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](1)},
					{Key: "node.kubernetes.io/not-ready", Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](1)},
				},
			}},
		},
	}
	if _, err := ts.Client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Play the scheduler: bind the first pods to the dying node.
	var victims []string
	poll(t, "2 pods bound to the dying node", func(ctx context.Context) (bool, error) {
		pods, err := ts.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" {
				continue
			}
			b := &v1.Binding{ObjectMeta: metav1.ObjectMeta{Name: p.Name}, Target: v1.ObjectReference{Kind: "Node", Name: "dying"}}
			if err := ts.Client.CoreV1().Pods(ns).Bind(ctx, b, metav1.CreateOptions{}); err != nil {
				return false, err
			}
			victims = append(victims, p.Name)
		}
		return len(victims) == 2, nil
	})

	poll(t, "the dying node to be unreachable and tainted", func(ctx context.Context) (bool, error) {
		n, err := ts.Client.CoreV1().Nodes().Get(ctx, "dying", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, taint := range n.Spec.Taints {
			if taint.Key == "node.kubernetes.io/unreachable" && taint.Effect == v1.TaintEffectNoExecute {
				for _, c := range n.Status.Conditions {
					if c.Type == v1.NodeReady && c.Status == v1.ConditionUnknown {
						return true, nil
					}
				}
			}
		}
		return false, nil
	})
	poll(t, "evicted pods replaced by the ReplicaSet", func(ctx context.Context) (bool, error) {
		pods, err := ts.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		evicted, fresh := 0, 0
		for _, p := range pods.Items {
			isVictim := p.Name == victims[0] || p.Name == victims[1]
			switch {
			case isVictim && p.DeletionTimestamp != nil:
				evicted++
			case !isVictim && p.DeletionTimestamp == nil:
				fresh++
			}
		}
		// A victim may also be gone entirely.
		for _, v := range victims {
			if _, err := ts.Client.CoreV1().Pods(ns).Get(ctx, v, metav1.GetOptions{}); err != nil {
				evicted++
			}
		}
		return evicted >= 2 && fresh == 2, nil
	})
	h, err := ts.Client.CoreV1().Nodes().Get(ctx, "healthy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Spec.Taints) != 0 {
		t.Errorf("the heartbeating node was tainted: %v", h.Spec.Taints)
	}
}
