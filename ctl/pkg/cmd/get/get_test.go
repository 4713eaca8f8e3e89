package get_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/e2e/clitest"
)

func makePod(t *testing.T, c kubernetes.Interface, ns, name string, labels map[string]string) {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}
	if _, err := c.CoreV1().Pods(ns).Create(context.Background(), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func makeDeployment(t *testing.T, c kubernetes.Interface, name string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": "httpd"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "httpd", Image: "httpd:2.4"}}},
			},
		},
	}
	if _, err := c.AppsV1().Deployments("default").Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func makeService(t *testing.T, c kubernetes.Interface, name, clusterIP string) {
	t.Helper()
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.ServiceSpec{
			ClusterIP: clusterIP,
			Selector:  map[string]string{"app": "web"},
			Ports:     []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := c.CoreV1().Services("default").Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// ages matches an AGE cell ("0s", "5m3s") and the padding after it.
var ages = regexp.MustCompile(`(?m)\b[0-9]+[smhdy]([0-9]+[smh])?( +|$)`)

// noAge replaces ages, which depend on when the test runs, by "<age>" and
// one space when a column follows.
func noAge(s string) string {
	return ages.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasSuffix(m, " ") {
			return "<age> "
		}
		return "<age>"
	})
}

func TestGet(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	makeDeployment(t, c, "httpd-deployment", 2)
	makePod(t, c, "default", "web-2", map[string]string{"app": "web"})
	makePod(t, c, "default", "web-10", nil)
	makePod(t, c, "default", "web-1", map[string]string{"app": "web", "tier": "front"})
	makePod(t, c, "kube-system", "sys-1", nil)
	makeService(t, c, "web", "10.96.0.50")

	manifest := filepath.Join(t.TempDir(), "objs.yaml")
	if err := os.WriteFile(manifest, []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-1\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		want string // stdout, ages at line ends replaced by <age>
	}{
		{
			name: "pods",
			args: []string{"get", "pods"},
			want: `NAME     READY   STATUS    RESTARTS   AGE
web-1    0/1     Pending   0          <age>
web-10   0/1     Pending   0          <age>
web-2    0/1     Pending   0          <age>
`,
		},
		{
			name: "short name and names",
			args: []string{"get", "po", "web-2", "web-1"},
			want: `NAME    READY   STATUS    RESTARTS   AGE
web-2   0/1     Pending   0          <age>
web-1   0/1     Pending   0          <age>
`,
		},
		{
			name: "several kinds print kind/name and a blank line between tables",
			args: []string{"get", "po,svc", "-l", "app=web"},
			want: `NAME        READY   STATUS    RESTARTS   AGE
pod/web-1   0/1     Pending   0          <age>
pod/web-2   0/1     Pending   0          <age>
`,
		},
		{
			name: "type/name arguments",
			args: []string{"get", "pod/web-1", "svc/web"},
			want: `NAME        READY   STATUS    RESTARTS   AGE
pod/web-1   0/1     Pending   0          <age>

NAME          TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE
service/web   ClusterIP   10.96.0.50   <none>        80/TCP    <age>
`,
		},
		{
			name: "manifest file",
			args: []string{"get", "-f", manifest},
			want: `NAME        READY   STATUS    RESTARTS   AGE
pod/web-1   0/1     Pending   0          <age>

NAME          TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE
service/web   ClusterIP   10.96.0.50   <none>        80/TCP    <age>
`,
		},
		{
			name: "all namespaces adds NAMESPACE",
			args: []string{"get", "pods", "-A", "--field-selector", "metadata.name!=web-10"},
			want: `NAMESPACE     NAME    READY   STATUS    RESTARTS   AGE
default       web-1   0/1     Pending   0          <age>
default       web-2   0/1     Pending   0          <age>
kube-system   sys-1   0/1     Pending   0          <age>
`,
		},
		{
			name: "show labels",
			args: []string{"get", "pods", "--show-labels", "--sort-by", "{.metadata.name}", "--no-headers"},
			want: `web-1    0/1   Pending   0     <age> app=web,tier=front
web-2    0/1   Pending   0     <age> app=web
web-10   0/1   Pending   0     <age> <none>
`,
		},
		{
			name: "label columns",
			args: []string{"get", "pods", "-L", "app", "-L", "tier", "-l", "app"},
			want: `NAME    READY   STATUS    RESTARTS   AGE   APP   TIER
web-1   0/1     Pending   0          <age> web   front
web-2   0/1     Pending   0          <age> web   
`,
		},
		{
			name: "show kind",
			args: []string{"get", "deploy", "--show-kind"},
			want: `NAME                               READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/httpd-deployment   0/2     0            0           <age>
`,
		},
		{
			name: "chunks are merged into one table",
			args: []string{"get", "pods", "--chunk-size", "1"},
			want: `NAME     READY   STATUS    RESTARTS   AGE
web-1    0/1     Pending   0          <age>
web-10   0/1     Pending   0          <age>
web-2    0/1     Pending   0          <age>
`,
		},
		{
			name: "names sorted across kinds",
			args: []string{"get", "po,deploy", "-o", "name", "--sort-by", ".metadata.name"},
			want: "deployment.apps/httpd-deployment\npod/web-1\npod/web-2\npod/web-10\n",
		},
		{
			name: "jsonpath on a list",
			args: []string{"get", "pods", "-o", "jsonpath={.items[*].metadata.name}"},
			want: "web-1 web-10 web-2",
		},
		{
			name: "jsonpath on one object, missing keys print nothing",
			args: []string{"get", "pod", "web-1", "-o", "jsonpath={.metadata.labels.tier}/{.nope}"},
			want: "front/",
		},
		{
			name: "jsonpath-as-json",
			args: []string{"get", "pods", "-l", "app=web", "-o", "jsonpath-as-json={.items[*].metadata.name}"},
			want: "[\n    \"web-1\",\n    \"web-2\"\n]\n",
		},
		{
			name: "custom columns",
			args: []string{"get", "pods", "-o", "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app,IMAGES:.spec.containers[*].image"},
			want: `NAME     APP      IMAGES
web-1    web      busybox
web-10   <none>   busybox
web-2    web      busybox
`,
		},
		{
			name: "go template with --template",
			args: []string{"get", "pods", "-o", "go-template", "--template", `{{range .items}}{{.metadata.name}}:{{.spec.containers | len}} {{end}}`},
			want: "web-1:1 web-10:1 web-2:1 ",
		},
		{
			name: "seed: deployment wide header",
			args: []string{"get", "deployment", "-o", "custom-columns=N:.metadata.name,R:.spec.replicas", "--no-headers"},
			want: "httpd-deployment   2\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := env.OK(t, "", tc.args...)
			if noAge(got) != tc.want {
				t.Errorf("navctl %s:\ngot:\n%s\nwant:\n%s", strings.Join(tc.args, " "), got, tc.want)
			}
		})
	}

	t.Run("seed: get deployment -o wide", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(env.OK(t, "", "get", "deployment", "-o", "wide")), "\n")
		if len(lines) != 2 {
			t.Fatalf("want a header and one row, got %q", lines)
		}
		wantHeader := []string{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"}
		if got := strings.Fields(lines[0]); strings.Join(got, " ") != strings.Join(wantHeader, " ") {
			t.Errorf("header = %q, want %q", got, wantHeader)
		}
		row := strings.Fields(lines[1])
		if len(row) != 8 || row[0] != "httpd-deployment" || row[1] != "0/2" || row[5] != "httpd" || row[6] != "httpd:2.4" || row[7] != "app=httpd" {
			t.Errorf("row = %q", row)
		}
		// Columns are aligned: each header starts where its cells start.
		for _, col := range []string{"CONTAINERS", "IMAGES", "SELECTOR"} {
			i := strings.Index(lines[0], col)
			if i < 0 || i >= len(lines[1]) || lines[1][i-1] != ' ' || lines[1][i] == ' ' {
				t.Errorf("column %s at %d is not aligned:\n%s\n%s", col, i, lines[0], lines[1])
			}
		}
	})

	t.Run("json of one object is the object", func(t *testing.T) {
		got := env.OK(t, "", "get", "pod", "web-1", "-o", "json")
		for _, want := range []string{"{\n    \"apiVersion\": \"v1\",\n    \"kind\": \"Pod\",", `"name": "web-1"`} {
			if !strings.Contains(got, want) {
				t.Errorf("output lacks %q:\n%s", want, got)
			}
		}
		if strings.Contains(got, "managedFields") {
			t.Errorf("managedFields printed without --show-managed-fields")
		}
	})

	t.Run("yaml of a list is a List", func(t *testing.T) {
		got := env.OK(t, "", "get", "pods", "-l", "tier=front", "-o", "yaml")
		if !strings.HasPrefix(got, "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n") || !strings.HasSuffix(got, "kind: List\nmetadata:\n  resourceVersion: \"\"\n") {
			t.Errorf("not a List:\n%s", got)
		}
	})

	t.Run("empty json list", func(t *testing.T) {
		got := env.OK(t, "", "get", "jobs", "-o", "json")
		want := "{\n    \"apiVersion\": \"v1\",\n    \"items\": [],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n"
		if got != want {
			t.Errorf("got:\n%s\nwant:\n%s", got, want)
		}
	})

	failures := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantStderr string
	}{
		{name: "empty namespace", args: []string{"get", "jobs"}, wantStderr: "No resources found in default namespace.\n"},
		{name: "empty other namespace", args: []string{"get", "cm,jobs", "-n", "nothing"}, wantStderr: "No resources found in nothing namespace.\n"},
		{name: "empty all namespaces", args: []string{"get", "jobs", "-A"}, wantStderr: "No resources found\n"},
		{name: "empty cluster-scoped", args: []string{"get", "nodes"}, wantStderr: "No resources found\n"},
		{name: "not found", args: []string{"get", "pods", "nope"}, code: 1, wantStderr: "Error from server (NotFound): pods \"nope\" not found\n"},
		{
			name: "found and not found", args: []string{"get", "pods", "web-1", "nope"}, code: 1,
			wantOut:    "NAME    READY   STATUS    RESTARTS   AGE\nweb-1   0/1     Pending   0          <age>\n",
			wantStderr: "Error from server (NotFound): pods \"nope\" not found\n",
		},
		{name: "ignore not found", args: []string{"get", "pods", "nope", "--ignore-not-found"}},
		{name: "ignore not found json", args: []string{"get", "pods", "nope", "--ignore-not-found", "-o", "json"}},
		{name: "unknown type", args: []string{"get", "foo"}, code: 1, wantStderr: "error: the server doesn't have a resource type \"foo\"\n"},
		{
			name: "no type", args: []string{"get"}, code: 1,
			wantStderr: "You must specify the type of resource to get. Use \"navctl api-resources\" for a complete list of supported resources.\n\nerror: Required resource not specified.\nUse \"navctl explain <resource>\" for a detailed description of that resource (e.g. navctl explain pods).\nSee 'navctl get -h' for help and examples\n",
		},
		{
			name: "bad output", args: []string{"get", "pods", "-o", "bad"}, code: 1,
			wantStderr: "error: unable to match a printer suitable for the output format \"bad\", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml\n",
		},
		{name: "jsonpath without template", args: []string{"get", "pods", "-o", "jsonpath"}, code: 1, wantStderr: "error: template format specified but no template given\n"},
		{name: "bad jsonpath", args: []string{"get", "pods", "-o", "jsonpath={.items[}"}, code: 1, wantStderr: "error: error parsing jsonpath {.items[}, unterminated array\n"},
		{name: "bad custom columns", args: []string{"get", "pods", "-o", "custom-columns=bad"}, code: 1, wantStderr: "error: unexpected custom-columns spec: bad, expected <header>:<json-path-expr>\n"},
		{
			name: "bad field selector", args: []string{"get", "pods", "--field-selector", "foo=bar"}, code: 1,
			wantStderr: "Error from server (BadRequest): Unable to find \"/v1, Resource=pods\" that match label selector \"\", field selector \"foo=bar\": field label not supported: foo\n",
		},
		{name: "sort by a missing field", args: []string{"get", "pods", "-o", "name", "--sort-by", ".nope"}, code: 1, wantStderr: "error: couldn't find any field with path \"{.nope}\" in the list of objects\n"},
		{name: "name across namespaces", args: []string{"get", "pods", "web-1", "-A"}, code: 1, wantStderr: "error: a resource cannot be retrieved by name across all namespaces\n"},
		{name: "watch several kinds", args: []string{"get", "po,svc", "-w"}, code: 1, wantStderr: "error: you may only specify a single resource type\n"},
		{name: "name with a selector", args: []string{"get", "pods", "web-1", "-l", "app=web"}, code: 1, wantStderr: "error: name cannot be provided when a selector is specified\n"},
		{name: "labels need a table", args: []string{"get", "pods", "-o", "json", "--show-labels"}, code: 1, wantStderr: "error: --show-labels option cannot be used with json printer\n"},
		{
			name: "missing template keys can be errors", args: []string{"get", "pod", "web-1", "-o", "go-template={{.nope}}", "--allow-missing-template-keys=false"}, code: 1,
			wantStderr: "error: error executing template \"{{.nope}}\": template: output:1:2: executing \"output\" at <.nope>: map has no entry for key \"nope\"\n",
		},
		{name: "raw", args: []string{"get", "--raw", "/api/v1/namespaces/default/pods/nope"}, code: 1, wantStderr: "Error from server (NotFound): pods \"nope\" not found\n"},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			r := env.Run(t, "", tc.args...)
			if r.Code != tc.code || noAge(r.Stdout) != tc.wantOut || r.Stderr != tc.wantStderr {
				t.Errorf("navctl %s: exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s",
					strings.Join(tc.args, " "), r.Code, tc.code, r.Stdout, tc.wantOut, r.Stderr, tc.wantStderr)
			}
		})
	}
}

func TestGetAll(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	makeDeployment(t, c, "web", 1)
	makePod(t, c, "default", "p", nil)
	got := noAge(env.OK(t, "", "get", "all"))
	want := `NAME    READY   STATUS    RESTARTS   AGE
pod/p   0/1     Pending   0          <age>

NAME                 TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE
service/kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP   <age>

NAME                  READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/web   0/1     0            0           <age>
`
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestGetWatch runs navctl get -w and reads what it prints as pods change.
func TestGetWatch(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client

	tests := []struct {
		name  string
		args  []string
		first []string // lines printed before the change
		then  []string // lines printed for the new pod named NEW
	}{
		{
			name:  "table rows keep the widths before them",
			args:  []string{"get", "pods", "-w"},
			first: []string{"NAME    READY   STATUS    RESTARTS   AGE", "web-1   0/1     Pending   0          <age>"},
			then:  []string{"NEW   0/1     Pending   0          <age>"},
		},
		{
			name: "watch only with events",
			args: []string{"get", "pods", "--watch-only", "--output-watch-events"},
			then: []string{"EVENT      NAME               READY   STATUS    RESTARTS   AGE", "ADDED      NEW   0/1     Pending   0          <age>"},
		},
		{
			name:  "names",
			args:  []string{"get", "pods", "-w", "-o", "name"},
			first: []string{"pod/web-1"},
			then:  []string{"pod/NEW"},
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case watches its own namespace holding one pod, web-1.
			ns := fmt.Sprintf("watch-%d", i)
			if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			makePod(t, c, ns, "web-1", nil)
			ctx, cancel := context.WithCancel(context.Background())
			cmd := exec.CommandContext(ctx, clitest.Binary(t), append(tc.args, "-n", ns)...)
			cmd.Env = append(os.Environ(), "HOME="+env.Home, "KUBECONFIG="+env.Kubeconfig)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cancel()
				cmd.Wait()
				waitForWatchers(t, c, 0)
			}()
			lines := bufio.NewScanner(out)
			next := func() string {
				if !lines.Scan() {
					t.Fatalf("navctl %s ended early: %v", strings.Join(tc.args, " "), lines.Err())
				}
				return noAge(lines.Text())
			}
			for _, want := range tc.first {
				if got := next(); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
			}
			// Create the pod once navctl watches, so it arrives as a change.
			waitForWatchers(t, c, 1)
			name := fmt.Sprintf("new-pod-number-%d", i)
			makePod(t, c, ns, name, nil)
			for _, want := range tc.then {
				want = strings.ReplaceAll(want, "NEW", name)
				if got := next(); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
			}
		})
	}
}

// waitForWatchers waits until the apiserver reports n watches of pods.
func waitForWatchers(t *testing.T, c kubernetes.Interface, n int) {
	t.Helper()
	want := fmt.Sprintf(`apiserver_registered_watchers{resource="pods"} %d`, n)
	for {
		body, err := c.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body)+"\n", want+"\n") || (n == 0 && !strings.Contains(string(body), `apiserver_registered_watchers{resource="pods"}`)) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
