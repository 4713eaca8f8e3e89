// Package kubectl drives the real kubectl (built from k8s.io/kubectl) against
// navarch-apiserver and checks what a user sees: the same messages, tables and
// exit codes as against upstream.
package kubectl

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"navarch.dev/apiserver/testserver"
)

var (
	kubectlBin string
	ts         *testserver.TestServer
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "navarch-kubectl-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kubectlBin = filepath.Join(dir, "kubectl")
	build := exec.Command("go", "build", "-o", kubectlBin, "navarch.dev/e2e/tools/kubectl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build kubectl:", err)
		os.Exit(1)
	}
	ts, err = testserver.StartE(filepath.Join(dir, "server"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "start apiserver:", err)
		os.Exit(1)
	}
	code := m.Run()
	ts.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	out, err string
	code     int
}

// kubectl runs kubectl with args against the test server, stdin from input.
func kubectl(t *testing.T, input string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlBin, append([]string{"--kubeconfig", ts.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECACHEDIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("kubectl %v: %v", args, err)
	}
	return result{out: stdout.String(), err: stderr.String(), code: code}
}

// ok runs kubectl and fails the test on a non-zero exit.
func ok(t *testing.T, input string, args ...string) string {
	t.Helper()
	r := kubectl(t, input, args...)
	if r.code != 0 {
		t.Fatalf("kubectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// header returns the whitespace-separated column names of a table's first line.
func header(out string) []string {
	first, _, _ := strings.Cut(out, "\n")
	return regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(first), -1)
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kubectl-test
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: httpd
        image: busybox:1.36
        command: ["httpd", "-f", "-p", "8080"]
        ports:
        - containerPort: 8080
`

func TestApplyGetScalePatch(t *testing.T) {
	ok(t, "", "create", "namespace", "kubectl-test")
	if out := ok(t, deployment, "apply", "-f", "-"); strings.TrimSpace(out) != "deployment.apps/web created" {
		t.Fatalf("first apply printed %q", out)
	}
	if out := ok(t, deployment, "apply", "-f", "-"); strings.TrimSpace(out) != "deployment.apps/web unchanged" {
		t.Fatalf("second apply printed %q", out)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "table", args: []string{"get", "deployments", "-n", "kubectl-test"}, want: []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"}},
		{name: "wide", args: []string{"get", "deploy", "-n", "kubectl-test", "-o", "wide"}, want: []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"}},
		{name: "namespaces", args: []string{"get", "ns"}, want: []string{"NAME", "STATUS", "AGE"}},
		{name: "services", args: []string{"get", "svc", "-n", "default"}, want: []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := ok(t, "", tc.args...)
			if got := header(out); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("columns %q, want %q\n%s", got, tc.want, out)
			}
		})
	}
	out := ok(t, "", "get", "svc", "kubernetes", "-n", "default")
	if !regexp.MustCompile(`kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443/TCP\s+\d+[sm]`).MatchString(out) {
		t.Fatalf("kubernetes service row not as upstream prints it:\n%s", out)
	}
	if out := ok(t, "", "get", "deploy", "web", "-n", "kubectl-test", "-o", "jsonpath={.spec.replicas}"); out != "2" {
		t.Fatalf("jsonpath replicas = %q", out)
	}
	if out := ok(t, "", "get", "deploy", "web", "-n", "kubectl-test", "-o", "yaml"); !strings.Contains(out, "kind: Deployment") || !strings.Contains(out, "kubectl.kubernetes.io/last-applied-configuration") {
		t.Fatalf("-o yaml lacks kind or last-applied annotation:\n%s", out)
	}
	if out := ok(t, "", "scale", "deployment", "web", "-n", "kubectl-test", "--replicas=3"); strings.TrimSpace(out) != "deployment.apps/web scaled" {
		t.Fatalf("scale printed %q", out)
	}
	if out := ok(t, "", "get", "deploy", "web", "-n", "kubectl-test", "-o", "jsonpath={.spec.replicas}"); out != "3" {
		t.Fatalf("replicas after scale = %q", out)
	}
	if out := ok(t, "", "patch", "deployment", "web", "-n", "kubectl-test", "-p", `{"metadata":{"labels":{"tier":"front"}}}`); strings.TrimSpace(out) != "deployment.apps/web patched" {
		t.Fatalf("patch printed %q", out)
	}
	if out := ok(t, "", "get", "deploy", "-n", "kubectl-test", "-l", "tier=front", "-o", "name"); strings.TrimSpace(out) != "deployment.apps/web" {
		t.Fatalf("label selector after patch: %q", out)
	}
}

func TestCreateServiceAndErrors(t *testing.T) {
	ok(t, "", "create", "namespace", "kubectl-errors")
	if out := ok(t, "", "create", "service", "clusterip", "my-svc", "--tcp=80:8080", "-n", "kubectl-errors"); strings.TrimSpace(out) != "service/my-svc created" {
		t.Fatalf("create service printed %q", out)
	}
	ip := ok(t, "", "get", "svc", "my-svc", "-n", "kubectl-errors", "-o", "jsonpath={.spec.clusterIP}")
	if !strings.HasPrefix(ip, "10.") {
		t.Fatalf("service got cluster IP %q", ip)
	}
	r := kubectl(t, "", "get", "pod", "nope", "-n", "kubectl-errors")
	if r.code != 1 || strings.TrimSpace(r.err) != `Error from server (NotFound): pods "nope" not found` {
		t.Fatalf("get missing pod: exit %d, stderr %q", r.code, r.err)
	}
	bad := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\n  namespace: kubectl-errors\nspec:\n  containers:\n  - name: c\n    image: busybox\n"
	r = kubectl(t, bad, "apply", "-f", "-")
	if r.code != 1 || !strings.Contains(r.err, "Invalid value") || !strings.Contains(r.err, "Bad_Name") {
		t.Fatalf("apply invalid pod: exit %d, stderr %q", r.code, r.err)
	}
	unknown := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: kubectl-errors\nbogus: 1\ndata:\n  a: b\n"
	r = kubectl(t, unknown, "apply", "-f", "-")
	if r.code != 1 || !strings.Contains(r.err, "bogus") {
		t.Fatalf("apply with an unknown field under default strict validation: exit %d, stderr %q", r.code, r.err)
	}
}

func TestExplainAndAPIResources(t *testing.T) {
	out := ok(t, "", "explain", "pods.spec.containers")
	for _, want := range []string{"KIND:", "Pod", "FIELD:", "containers", "DESCRIPTION:"} {
		if !strings.Contains(out, want) {
			t.Fatalf("explain output lacks %q:\n%s", want, out)
		}
	}
	out = ok(t, "", "api-resources")
	for _, re := range []string{
		`(?m)^pods\s+po\s+v1\s+true\s+Pod$`,
		`(?m)^deployments\s+deploy\s+apps/v1\s+true\s+Deployment$`,
		`(?m)^namespaces\s+ns\s+v1\s+false\s+Namespace$`,
		`(?m)^leases\s+coordination\.k8s\.io/v1\s+true\s+Lease$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Fatalf("api-resources lacks %s:\n%s", re, out)
		}
	}
}

func TestGetWatch(t *testing.T) {
	ok(t, "", "create", "namespace", "kubectl-watch")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectlBin, "--kubeconfig", ts.Kubeconfig, "get", "configmaps", "-n", "kubectl-watch", "-w")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ok(t, "", "create", "configmap", "watched", "-n", "kubectl-watch", "--from-literal=a=b")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if regexp.MustCompile(`(?m)^watched\s+1\s+`).MatchString(out.String()) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("kubectl get -w did not show the new configmap:\n%s", out.String())
}
