package top_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"navarch.dev/apiserver/testserver/kubeletstats"
	"navarch.dev/e2e/clitest"
)

// cluster starts an apiserver with a Ready node whose kubelet reports pods
// web-1 (app=web: app 200m/64Mi, sidecar 50m/16Mi) and db-1 (db 500m/256Mi)
// in default and a NotReady node.
func cluster(t *testing.T) *clitest.Env {
	env := clitest.Start(t)
	cs := env.Server.Client
	k := kubeletstats.Start(t, "worker-1", kubeletstats.Usage{MilliCPU: 1500, Memory: 2 << 30})
	kubeletstats.RegisterNode(t, cs, "worker-1", nil, k.Port(), corev1.ConditionTrue)
	down := kubeletstats.Start(t, "worker-2", kubeletstats.Usage{MilliCPU: 100, Memory: 1 << 30})
	kubeletstats.RegisterNode(t, cs, "worker-2", nil, down.Port(), corev1.ConditionFalse)
	web := kubeletstats.CreatePod(t, cs, "default", "web-1", "worker-1", map[string]string{"app": "web"}, "app", "sidecar")
	db := kubeletstats.CreatePod(t, cs, "default", "db-1", "worker-1", map[string]string{"app": "db"}, "db")
	k.SetPods(
		kubeletstats.Pod{Name: "web-1", Namespace: "default", UID: string(web.UID), Containers: []kubeletstats.Container{
			{Name: "app", Usage: kubeletstats.Usage{MilliCPU: 200, Memory: 64 << 20}},
			{Name: "sidecar", Usage: kubeletstats.Usage{MilliCPU: 50, Memory: 16 << 20}},
		}},
		kubeletstats.Pod{Name: "db-1", Namespace: "default", UID: string(db.UID), Containers: []kubeletstats.Container{
			{Name: "db", Usage: kubeletstats.Usage{MilliCPU: 500, Memory: 256 << 20}},
		}},
	)
	return env
}

// rows splits output into lines of whitespace-separated fields.
func rows(out string) [][]string {
	var r [][]string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		r = append(r, strings.Fields(l))
	}
	return r
}

// cpuNear checks a "123m" cell against milli millicores.
func cpuNear(t *testing.T, cell string, milli int64) {
	t.Helper()
	q, err := resource.ParseQuantity(cell)
	if err != nil || !strings.HasSuffix(cell, "m") || !kubeletstats.Near(q, milli) {
		t.Errorf("CPU cell %q, want about %dm", cell, milli)
	}
}

// match checks a row against want, where "~N" is a CPU cell of about N
// millicores and "~N%" a percentage within 5 points of N.
func match(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("row %q, want %q", got, want)
		return
	}
	for i, w := range want {
		switch {
		case strings.HasPrefix(w, "~") && strings.HasSuffix(w, "%"):
			n, _ := strconv.Atoi(strings.TrimSuffix(w[1:], "%"))
			g, err := strconv.Atoi(strings.TrimSuffix(got[i], "%"))
			if err != nil || !strings.HasSuffix(got[i], "%") || g < n-5 || g > n+5 {
				t.Errorf("row %q cell %d = %q, want about %d%%", got, i, got[i], n)
			}
		case strings.HasPrefix(w, "~"):
			n, _ := strconv.ParseInt(w[1:], 10, 64)
			cpuNear(t, got[i], n)
		default:
			if got[i] != w {
				t.Errorf("row %q cell %d = %q, want %q", got, i, got[i], w)
			}
		}
	}
}

func TestTopNode(t *testing.T) {
	env := cluster(t)
	out := env.OK(t, "", "top", "node")
	if !regexp.MustCompile(`^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)\s*\n`).MatchString(out) {
		t.Errorf("header of:\n%s", out)
	}
	r := rows(out)
	if len(r) != 3 {
		t.Fatalf("output:\n%s\nwant a header, worker-1 and worker-2 (no metrics)", out)
	}
	// 1500m of 4 CPUs, 2Gi of 8Gi.
	match(t, r[1], "worker-1", "~1500", "~37%", "2048Mi", "25%")
	match(t, r[2], "worker-2", "<unknown>", "<unknown>", "<unknown>", "<unknown>")

	match(t, rows(env.OK(t, "", "top", "node", "worker-1", "--no-headers"))[0], "worker-1", "~1500", "~37%", "2048Mi", "25%")
	if got := env.Fail(t, "", "top", "node", "--sort-by", "disk"); got != "error: --sort-by accepts only cpu or memory\n" {
		t.Errorf("bad --sort-by: stderr %q", got)
	}
	if got := env.Fail(t, "", "top", "node", "worker-2"); got != "Error from server (NotFound): nodemetrics.metrics.k8s.io \"worker-2\" not found\n" {
		t.Errorf("node without metrics: stderr %q", got)
	}
}

func TestTopPod(t *testing.T) {
	env := cluster(t)
	r := rows(env.OK(t, "", "top", "pod"))
	if len(r) != 3 {
		t.Fatalf("rows %q, want a header, db-1 and web-1", r)
	}
	match(t, r[0], "NAME", "CPU(cores)", "MEMORY(bytes)")
	match(t, r[1], "db-1", "~500", "256Mi")
	match(t, r[2], "web-1", "~250", "80Mi")

	r = rows(env.OK(t, "", "top", "pod", "-l", "app=web", "--containers"))
	if len(r) != 3 {
		t.Fatalf("rows %q, want a header and two containers", r)
	}
	match(t, r[0], "POD", "NAME", "CPU(cores)", "MEMORY(bytes)")
	match(t, r[1], "web-1", "app", "~200", "64Mi")
	match(t, r[2], "web-1", "sidecar", "~50", "16Mi")

	r = rows(env.OK(t, "", "top", "pod", "-A", "--sort-by", "memory", "--sum"))
	if len(r) != 5 {
		t.Fatalf("rows %q, want a header, two pods and the sum", r)
	}
	match(t, r[0], "NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)")
	match(t, r[1], "default", "db-1", "~500", "256Mi")
	match(t, r[2], "default", "web-1", "~250", "80Mi")
	match(t, r[3], "________", "________")
	match(t, r[4], "~750", "336Mi")

	if got := env.Fail(t, "", "top", "pod", "ghost"); got != "Error from server (NotFound): podmetrics.metrics.k8s.io \"ghost\" not found\n" {
		t.Errorf("missing pod: stderr %q", got)
	}
	res := env.Run(t, "", "top", "pod", "-n", "kube-public")
	if res.Code != 0 || res.Stdout != "" || res.Stderr != "No resources found in kube-public namespace.\n" {
		t.Errorf("empty namespace: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	if got := env.Fail(t, "", "top", "pod", "web-1", "-l", "app=web"); got != "error: only one of NAME or selector can be provided\n" {
		t.Errorf("name and selector: stderr %q", got)
	}
}
