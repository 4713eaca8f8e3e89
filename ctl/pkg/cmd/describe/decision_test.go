package describe_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

// fakeScheduler serves a decision for pod default/web (uid webUID) and one
// for default/old about an earlier pod of that name, as navarch-scheduler
// serves them, and 404 for every other pod.
func fakeScheduler(t *testing.T, webUID string) *httptest.Server {
	body := `{
  "namespace": "default", "pod": "web", "uid": "` + webUID + `", "schedulerName": "default-scheduler",
  "time": "2026-01-02T03:04:05Z", "attempt": 3, "result": "Scheduled", "node": "node-b",
  "message": "Successfully assigned default/web to node-b",
  "numNodes": 4, "evaluated": 4, "feasible": 3,
  "scorePlugins": ["TaintToleration", "NodeResourcesFit"],
  "nodes": [
    {"node": "node-a", "passed": true, "scores": [300, 40], "total": 340, "scored": true},
    {"node": "node-c", "passed": false, "plugin": "NodeAffinity", "reasons": ["node(s) didn't match Pod's node affinity/selector"], "total": 0, "scored": false},
    {"node": "node-b", "passed": true, "scores": [300, 90], "total": 390, "scored": true},
    {"node": "node-d", "passed": true, "scores": [0, 10], "total": 10, "scored": true}
  ]
}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/debug/decisions/default/web":
			w.Write([]byte(body))
		case "/debug/decisions/default/old":
			w.Write([]byte(`{"namespace": "default", "pod": "old", "uid": "gone-uid", "result": "Scheduled", "node": "node-a"}`))
		default:
			http.Error(w, "no scheduling decision recorded", http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDescribePodShowDecision(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ctx := context.Background()
	uids := map[string]string{}
	for _, name := range []string{"web", "batch", "old"} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if name == "batch" {
			p.Spec.SchedulerName = "batch-scheduler"
		}
		uids[name] = string(must[*corev1.Pod](t)(c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})).UID)
	}
	sched := fakeScheduler(t, uids["web"])
	// The leader's Lease names the fake scheduler.
	holder := "sched-1_abc"
	ep, _ := json.Marshal(map[string]any{"holderIdentity": holder, "url": sched.URL, "schedulerNames": []string{"default-scheduler"}})
	lease := must[*coordinationv1.Lease](t)(c.CoordinationV1().Leases("kube-system").Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-scheduler", Annotations: map[string]string{"scheduler.navarch.dev/endpoint": string(ep)}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder},
	}, metav1.CreateOptions{}))

	want := `Scheduling Decision:
  Scheduler:  default-scheduler (` + sched.URL + `)
  Time:       ` + time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Local().Format(time.RFC1123Z) + `
  Attempt:    3
  Result:     Scheduled
  Node:       node-b
  Message:    Successfully assigned default/web to node-b
  Nodes:      4 total, 4 evaluated, 3 feasible
  Verdicts:
    Node    Filter                                                           TaintToleration  NodeResourcesFit  Total
    ----    ------                                                           ---------------  ----------------  -----
    node-b  passed (chosen)                                                  300              90                390
    node-a  passed                                                           300              40                340
    node-d  passed                                                           0                10                10
    node-c  NodeAffinity: node(s) didn't match Pod's node affinity/selector  -                -                 -
Events:  <none>
`
	out := env.OK(t, "", "describe", "pod", "web", "--show-decision")
	if i := strings.Index(out, "Scheduling Decision:"); i < 0 || out[i:] != want {
		t.Errorf("navctl describe pod web --show-decision:\ngot:\n%s\nwant the end:\n%s", out, want)
	}
	// --scheduler-address takes host:port as well.
	out = env.OK(t, "", "describe", "pod", "web", "--show-decision", "--scheduler-address", strings.TrimPrefix(sched.URL, "http://"))
	if !strings.Contains(out, want) {
		t.Errorf("with --scheduler-address: got\n%s", out)
	}

	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{name: "pod of a scheduler no lease names", args: []string{"describe", "pod", "batch", "--show-decision"},
			stderr: `error: pod default/batch: scheduling decision: no scheduler found for "batch-scheduler": no lease in kube-system has an annotation scheduler.navarch.dev/endpoint naming it (is its navarch-scheduler running, with --leader-elect?); use --scheduler-address` + "\n"},
		{name: "no decision for the pod", args: []string{"describe", "pod", "batch", "--show-decision", "--scheduler-address", sched.URL},
			stderr: "error: pod default/batch: scheduling decision: no scheduling decision for pod default/batch at scheduler " + sched.URL + " (it keeps the latest pods' decisions since it started leading)\n"},
		{name: "decision about an earlier pod of the name", args: []string{"describe", "pod", "old", "--show-decision"},
			stderr: "error: pod default/old: scheduling decision: no scheduling decision for this pod at scheduler " + sched.URL + ": its last decision for default/old is about an earlier pod of that name (uid gone-uid)\n"},
		{name: "bad address", args: []string{"describe", "pod", "web", "--show-decision", "--scheduler-address", "http://"},
			stderr: `error: pod default/web: scheduling decision: invalid scheduler address "http://": want host:port or http(s)://host:port` + "\n"},
		{name: "address without --show-decision", args: []string{"describe", "pod", "web", "--scheduler-address", sched.URL},
			stderr: "error: --scheduler-address is only used with --show-decision\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, "", tt.args...)
			if r.Code != 1 || r.Stderr != tt.stderr {
				t.Errorf("navctl %s: exit %d, stderr %q; want exit 1, stderr %q", strings.Join(tt.args, " "), r.Code, r.Stderr, tt.stderr)
			}
		})
	}

	// A new leader that has not published its endpoint: the old one's is
	// not trusted.
	newHolder := "sched-2_def"
	lease.Spec.HolderIdentity = &newHolder
	must[*coordinationv1.Lease](t)(c.CoordinationV1().Leases("kube-system").Update(ctx, lease, metav1.UpdateOptions{}))
	r := env.Run(t, "", "describe", "pod", "web", "--show-decision")
	const stale = `error: pod default/web: scheduling decision: no scheduler found for "default-scheduler": lease kube-system/kube-scheduler names a scheduler that no longer leads, and the current leader has not published its endpoint (annotation scheduler.navarch.dev/endpoint); use --scheduler-address` + "\n"
	if r.Code != 1 || r.Stderr != stale || !strings.Contains(r.Stdout, "Scheduling Decision:  <unavailable>\nEvents:") {
		t.Errorf("stale lease: exit %d\nstdout: %s\nstderr: %q\nwant stderr %q", r.Code, r.Stdout, r.Stderr, stale)
	}
}
