package integration

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func newNamespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ns, err := cs.CoreV1().Namespaces().Create(testContext(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	return ns.Name
}

func makePod(name string, lbls map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox:1.36"}}},
	}
}

func TestSystemObjectsExist(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		got, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("namespace %s: %v", ns, err)
		}
		if got.Status.Phase != corev1.NamespaceActive {
			t.Fatalf("namespace %s phase %q, want Active", ns, got.Status.Phase)
		}
	}
	svc, err := cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP != "10.96.0.1" || svc.Spec.Ports[0].Port != 443 {
		t.Fatalf("default/kubernetes = %s:%d, want 10.96.0.1:443", svc.Spec.ClusterIP, svc.Spec.Ports[0].Port)
	}
	ep, err := cs.CoreV1().Endpoints("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ep.Subsets[0].Ports[0].Port; got != int32(shared.Options.SecurePort) {
		t.Fatalf("kubernetes endpoints port %d, want %d", got, shared.Options.SecurePort)
	}
}

func TestStaleUpdateConflicts(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	cm, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := cm.DeepCopy()
	first.Data["a"] = "2"
	if _, err := cs.CoreV1().ConfigMaps(ns).Update(ctx, first, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	stale := cm.DeepCopy()
	stale.Data["a"] = "3"
	_, err = cs.CoreV1().ConfigMaps(ns).Update(ctx, stale, metav1.UpdateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("update with stale resourceVersion: want 409 Conflict, got %v", err)
	}
	got, _ := cs.CoreV1().ConfigMaps(ns).Get(ctx, "c", metav1.GetOptions{})
	if got.Data["a"] != "2" {
		t.Fatalf("stored value %q, want 2 (the stale update must not land)", got.Data["a"])
	}
}

func TestInvalidObjectsRejected(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	tests := []struct {
		name  string
		pod   *corev1.Pod
		field string
	}{
		{name: "no containers", pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "empty"}}, field: "spec.containers"},
		{name: "bad name", pod: makePod("Bad_Name", nil), field: "metadata.name"},
		{name: "no image", pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "noimage"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}, field: "spec.containers[0].image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cs.CoreV1().Pods(ns).Create(ctx, tc.pod, metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want 422 Invalid, got %v", err)
			}
			st := err.(apierrors.APIStatus).Status()
			found := false
			for _, c := range st.Details.Causes {
				if c.Field == tc.field {
					found = true
				}
			}
			if !found {
				t.Fatalf("no cause for field %s in %+v", tc.field, st.Details.Causes)
			}
			list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil || len(list.Items) != 0 {
				t.Fatalf("invalid pod was stored: %v %v", list, err)
			}
		})
	}
}

func TestConcurrentServiceCreatesGetDistinctIPs(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	const n = 60
	var wg sync.WaitGroup
	ips := make(chan string, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			svc := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i)},
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "x"},
					Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
			}
			out, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
			if err != nil {
				errs <- err
				return
			}
			ips <- out.Spec.ClusterIP + "/" + fmt.Sprint(out.Spec.Ports[0].NodePort)
		}(i)
	}
	wg.Wait()
	close(ips)
	close(errs)
	for err := range errs {
		t.Fatalf("create: %v", err)
	}
	seenIP, seenPort := map[string]bool{}, map[string]bool{}
	for v := range ips {
		ip, port, _ := strings.Cut(v, "/")
		if seenIP[ip] || seenPort[port] {
			t.Fatalf("cluster IP %s or node port %s handed out twice", ip, port)
		}
		seenIP[ip], seenPort[port] = true, true
	}
	// A specific ClusterIP already in use is refused with 422.
	taken := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "taken"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, taken, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("create with the kubernetes service's IP: want 422, got %v", err)
	}
	// Deleting a service releases its IP for a specific request.
	svc, _ := cs.CoreV1().Services(ns).Get(ctx, "svc-0", metav1.GetOptions{})
	if err := cs.CoreV1().Services(ns).Delete(ctx, "svc-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	again := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "again"}, Spec: corev1.ServiceSpec{ClusterIP: svc.Spec.ClusterIP, Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, again, metav1.CreateOptions{}); err != nil {
		t.Fatalf("reuse released IP %s: %v", svc.Spec.ClusterIP, err)
	}
}

func TestUnauthenticatedGets401(t *testing.T) {
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	// The health endpoints answer without credentials (health_test.go).
	for _, path := range []string{"/api/v1/namespaces", "/version", "/metrics"} {
		resp, err := client.Get(shared.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s without credentials: code %d, want 401", path, resp.StatusCode)
		}
		var st metav1.Status
		if err := json.Unmarshal(body, &st); err != nil || st.Kind != "Status" || st.Reason != metav1.StatusReasonUnauthorized {
			t.Fatalf("%s: body is not an Unauthorized Status: %s", path, body)
		}
	}
	// A wrong bearer token is refused too.
	cfg := rest.AnonymousClientConfig(shared.Config)
	cfg.BearerToken = "not-a-token"
	cs := kubernetes.NewForConfigOrDie(cfg)
	if _, err := cs.CoreV1().Namespaces().List(testContext(t), metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Fatalf("bad token: want 401, got %v", err)
	}
}

func TestPatchTypes(t *testing.T) {
	ctx := testContext(t)
	cs := shared.Client
	ns := newNamespace(t, cs)
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, makePod("p", map[string]string{"a": "1"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		typ   types.PatchType
		patch string
		check func(*corev1.Pod) bool
	}{
		{name: "merge", typ: types.MergePatchType, patch: `{"metadata":{"labels":{"b":"2"}}}`, check: func(p *corev1.Pod) bool { return p.Labels["a"] == "1" && p.Labels["b"] == "2" }},
		{name: "json", typ: types.JSONPatchType, patch: `[{"op":"remove","path":"/metadata/labels/a"}]`, check: func(p *corev1.Pod) bool { _, ok := p.Labels["a"]; return !ok }},
		{name: "strategic image", typ: types.StrategicMergePatchType, patch: `{"spec":{"containers":[{"name":"app","image":"busybox:1.37"}]}}`, check: func(p *corev1.Pod) bool {
			return len(p.Spec.Containers) == 1 && p.Spec.Containers[0].Image == "busybox:1.37"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := cs.CoreV1().Pods(ns).Patch(ctx, "p", tc.typ, []byte(tc.patch), metav1.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(out) {
				t.Fatalf("patched pod not as expected: labels=%v containers=%v", out.Labels, out.Spec.Containers)
			}
		})
	}
	// Changing an immutable field is 422, not stored.
	_, err := cs.CoreV1().Pods(ns).Patch(ctx, "p", types.StrategicMergePatchType, []byte(`{"spec":{"restartPolicy":"Never"}}`), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("patching an immutable pod field: want 422, got %v", err)
	}
	// dryRun does not store.
	_, err = cs.CoreV1().Pods(ns).Patch(ctx, "p", types.MergePatchType, []byte(`{"metadata":{"labels":{"dry":"run"}}}`), metav1.PatchOptions{DryRun: []string{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := cs.CoreV1().Pods(ns).Get(ctx, "p", metav1.GetOptions{})
	if _, ok := got.Labels["dry"]; ok {
		t.Fatal("dryRun patch was stored")
	}
}

func TestNodeRegistersWithStatus(t *testing.T) {
	ctx := testContext(t)
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-with-status"},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}},
		},
	}
	out, err := shared.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Status.Conditions) != 1 || out.Status.Addresses[0].Address != "10.0.0.5" {
		t.Fatalf("node status after create %+v, want the status the kubelet sent", out.Status)
	}
	// An update of the main resource keeps the status; /status changes it.
	out.Status.Addresses[0].Address = "10.0.0.6"
	out.Labels = map[string]string{"zone": "a"}
	upd, err := shared.Client.CoreV1().Nodes().Update(ctx, out, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Status.Addresses[0].Address != "10.0.0.5" || upd.Labels["zone"] != "a" {
		t.Fatalf("update: address %s labels %v, want status kept and labels changed", upd.Status.Addresses[0].Address, upd.Labels)
	}
	upd.Status.Addresses[0].Address = "10.0.0.7"
	st, err := shared.Client.CoreV1().Nodes().UpdateStatus(ctx, upd, metav1.UpdateOptions{})
	if err != nil || st.Status.Addresses[0].Address != "10.0.0.7" {
		t.Fatalf("status update: %v %v", st, err)
	}
}
