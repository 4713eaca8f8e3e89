package create_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

type result struct {
	out, err string
	code     int
}

func check(t *testing.T, env *clitest.Env, stdin string, args []string, want result) {
	t.Helper()
	r := env.Run(t, stdin, args...)
	if r.Code != want.code || r.Stdout != want.out || r.Stderr != want.err {
		t.Errorf("navctl %s:\ngot  exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
			strings.Join(args, " "), r.Code, r.Stdout, r.Stderr, want.code, want.out, want.err)
	}
}

// TestCreateFromFiles covers create -f.
func TestCreateFromFiles(t *testing.T) {
	env := clitest.Start(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "objs.yaml")
	cm := func(name string) string { return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n" }
	if err := os.WriteFile(file, []byte(cm("one")+"---\n"+cm("two")), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  result
	}{
		{"client dry run", "", []string{"create", "-f", file, "--dry-run=client"}, result{out: "configmap/one created (dry run)\nconfigmap/two created (dry run)\n"}},
		{"server dry run", "", []string{"create", "-f", file, "--dry-run=server", "-o", "name"}, result{out: "configmap/one\nconfigmap/two\n"}},
		{"create", "", []string{"create", "-f", file}, result{out: "configmap/one created\nconfigmap/two created\n"}},
		{"again: both exist", "", []string{"create", "-f", file}, result{
			err:  "Error from server (AlreadyExists): error when creating \"" + file + "\": configmaps \"one\" already exists\nError from server (AlreadyExists): error when creating \"" + file + "\": configmaps \"two\" already exists\n",
			code: 1,
		}},
		{"one exists, the other is created", cm("one") + "---\n" + cm("three"), []string{"create", "-f", "-"}, result{
			out:  "configmap/three created\n",
			err:  "Error from server (AlreadyExists): error when creating \"STDIN\": configmaps \"one\" already exists\n",
			code: 1,
		}},
		{"save-config records the configuration", cm("saved"), []string{"create", "-f", "-", "--save-config"}, result{out: "configmap/saved created\n"}},
		{"nothing matches -l", cm("four"), []string{"create", "-f", "-", "-l", "a=b"}, result{err: "error: no objects passed to create\n", code: 1}},
		{"no -f", "", []string{"create"}, result{err: "error: must specify one of -f and -k\n", code: 1}},
		{"unknown generator", "", []string{"create", "foo"}, result{err: "error: Unexpected args: [foo]\nSee 'navctl create -h' for help and examples\n", code: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, env, tt.stdin, tt.args, tt.want) })
	}
	saved, err := env.Server.Client.CoreV1().ConfigMaps("default").Get(context.Background(), "saved", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"annotations":{},"name":"saved","namespace":"default"}}` + "\n"
	if got := saved.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; got != want {
		t.Errorf("last-applied %q, want %q", got, want)
	}
}

// TestGenerators checks the objects the create generators build, as
// --dry-run=client -o yaml prints them (the same text kubectl prints).
func TestGenerators(t *testing.T) {
	env := clitest.Start(t)
	dir := t.TempDir()
	txt := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(txt, []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin.dat")
	if err := os.WriteFile(bin, []byte{0xff, 0xfe}, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "deployment",
			args: []string{"deployment", "web", "--image=nginx", "--replicas=3", "--port=80"},
			want: `apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: web
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  strategy: {}
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - image: nginx
        name: nginx
        ports:
        - containerPort: 80
        resources: {}
status: {}
`,
		},
		{
			name: "deployment with a command and a namespace",
			args: []string{"deploy", "cmd", "--image=registry.local:5000/tools/busybox:1.36", "-n", "kube-system", "--", "sleep", "3600"},
			want: `apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: cmd
  name: cmd
  namespace: kube-system
spec:
  replicas: 1
  selector:
    matchLabels:
      app: cmd
  strategy: {}
  template:
    metadata:
      labels:
        app: cmd
    spec:
      containers:
      - command:
        - sleep
        - "3600"
        image: registry.local:5000/tools/busybox:1.36
        name: busybox
        resources: {}
status: {}
`,
		},
		{
			name: "namespace",
			args: []string{"namespace", "ns1"},
			want: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\nspec: {}\nstatus: {}\n",
		},
		{
			name: "configmap",
			args: []string{"configmap", "cm1", "--from-literal=a=b", "--from-file=" + txt, "--from-file=key2=" + txt, "--from-file=" + bin},
			want: "apiVersion: v1\nbinaryData:\n  bin.dat: //4=\ndata:\n  a: b\n  f.txt: |\n    hi\n  key2: |\n    hi\nkind: ConfigMap\nmetadata:\n  name: cm1\n",
		},
		{
			name: "configmap with --save-config",
			args: []string{"cm", "c", "--from-literal=a=1", "--save-config"},
			want: "apiVersion: v1\ndata:\n  a: \"1\"\nkind: ConfigMap\nmetadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"1\"}}\n  name: c\n",
		},
		{
			name: "secret generic",
			args: []string{"secret", "generic", "s1", "--from-literal=a=b", "--type=Opaque", "--from-file=" + txt},
			want: "apiVersion: v1\ndata:\n  a: Yg==\n  f.txt: aGkK\nkind: Secret\nmetadata:\n  name: s1\ntype: Opaque\n",
		},
		{
			name: "serviceaccount",
			args: []string{"sa", "sa1"},
			want: "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa1\n",
		},
		{
			name: "job",
			args: []string{"job", "j1", "--image=busybox", "--", "echo", "hi"},
			want: "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j1\nspec:\n  template:\n    metadata: {}\n    spec:\n      containers:\n      - command:\n        - echo\n        - hi\n        image: busybox\n        name: j1\n        resources: {}\n      restartPolicy: Never\nstatus: {}\n",
		},
		{
			name: "service clusterip",
			args: []string{"service", "clusterip", "svc1", "--tcp=80:8080", "--tcp=443"},
			want: `apiVersion: v1
kind: Service
metadata:
  labels:
    app: svc1
  name: svc1
spec:
  ports:
  - name: 80-8080
    port: 80
    protocol: TCP
    targetPort: 8080
  - name: "443"
    port: 443
    protocol: TCP
    targetPort: 443
  selector:
    app: svc1
  type: ClusterIP
status:
  loadBalancer: {}
`,
		},
		{
			name: "headless service",
			args: []string{"svc", "clusterip", "headless", "--clusterip=None"},
			want: "apiVersion: v1\nkind: Service\nmetadata:\n  labels:\n    app: headless\n  name: headless\nspec:\n  clusterIP: None\n  selector:\n    app: headless\n  type: ClusterIP\nstatus:\n  loadBalancer: {}\n",
		},
		{
			name: "service nodeport",
			args: []string{"service", "nodeport", "np1", "--tcp=80:8080", "--node-port=30080"},
			want: "apiVersion: v1\nkind: Service\nmetadata:\n  labels:\n    app: np1\n  name: np1\nspec:\n  ports:\n  - name: 80-8080\n    nodePort: 30080\n    port: 80\n    protocol: TCP\n    targetPort: 8080\n  selector:\n    app: np1\n  type: NodePort\nstatus:\n  loadBalancer: {}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"create"}, tt.args...)
			args = append(args, "--dry-run=client", "-o", "yaml")
			if i := indexOf(tt.args, "--"); i >= 0 {
				// Flags must come before the command after "--".
				args = append(append([]string{"create"}, tt.args[:i]...), "--dry-run=client", "-o", "yaml")
				args = append(args, tt.args[i:]...)
			}
			check(t, env, "", args, result{out: tt.want})
		})
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestGeneratorsCreate creates objects with the generators and checks the
// server has them, and the errors kubectl prints.
func TestGeneratorsCreate(t *testing.T) {
	env := clitest.Start(t)
	ctx := context.Background()
	client := env.Server.Client
	tests := []struct {
		name string
		args []string
		want result
	}{
		{"deployment", []string{"create", "deployment", "web", "--image=busybox:1.36", "--replicas=2"}, result{out: "deployment.apps/web created\n"}},
		{"deployment exists", []string{"create", "deployment", "web", "--image=busybox:1.36"}, result{err: "error: failed to create deployment: deployments.apps \"web\" already exists\n", code: 1}},
		{"deployment without image", []string{"create", "deployment", "x"}, result{err: "error: required flag(s) \"image\" not set\n", code: 1}},
		{"deployment without name", []string{"create", "deployment", "--image=x"}, result{err: "error: exactly one NAME is required, got 0\nSee 'navctl create deployment -h' for help and examples\n", code: 1}},
		{"deployment with images and a command", []string{"create", "deployment", "x", "--image=a", "--image=b", "--", "date"}, result{err: "error: cannot specify multiple --image options and command\n", code: 1}},
		{"namespace", []string{"create", "namespace", "team-a"}, result{out: "namespace/team-a created\n"}},
		{"namespace exists", []string{"create", "ns", "team-a"}, result{err: "Error from server (AlreadyExists): namespaces \"team-a\" already exists\n", code: 1}},
		{"invalid namespace", []string{"create", "ns", "Bad_NS"}, result{err: "The Namespace \"Bad_NS\" is invalid: metadata.name: Invalid value: \"Bad_NS\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')\n", code: 1}},
		{"configmap in a namespace", []string{"create", "configmap", "cfg", "--from-literal=a=1", "-n", "team-a"}, result{out: "configmap/cfg created\n"}},
		{"configmap server dry run", []string{"create", "cm", "dry", "--dry-run=server"}, result{out: "configmap/dry created (server dry run)\n"}},
		{"configmap literal without value", []string{"create", "cm", "c", "--from-literal=abc"}, result{err: "error: invalid literal source abc, expected key=value\n", code: 1}},
		{"configmap repeated key", []string{"create", "cm", "c", "--from-literal=a=1", "--from-literal=a=2"}, result{err: "error: cannot add key \"a\", another key by that name already exists in Data for ConfigMap \"c\"\n", code: 1}},
		{"configmap missing file", []string{"create", "cm", "c", "--from-file=/nonexistent"}, result{err: "error: error reading /nonexistent: no such file or directory\n", code: 1}},
		{"secret", []string{"create", "secret", "generic", "s", "--from-literal=password=hunter2"}, result{out: "secret/s created\n"}},
		{"secret repeated key", []string{"create", "secret", "generic", "s2", "--from-literal=a=1", "--from-literal=a=2"}, result{err: "error: cannot add key a, another key by that name already exists\n", code: 1}},
		{"serviceaccount", []string{"create", "serviceaccount", "robot", "-o", "name"}, result{out: "serviceaccount/robot\n"}},
		{"job", []string{"create", "job", "once", "--image=busybox:1.36", "--", "echo", "hi"}, result{out: "job.batch/once created\n"}},
		{"job with neither image nor from", []string{"create", "job", "j"}, result{err: "error: either --image or --from must be specified\n", code: 1}},
		{"job from a missing cron job", []string{"create", "job", "j", "--from=cronjob/nope"}, result{err: "Error from server (NotFound): cronjobs.batch \"nope\" not found\n", code: 1}},
		{"job from a deployment", []string{"create", "job", "j", "--from=deployment/web"}, result{err: "error: unknown object type *v1.Deployment\n", code: 1}},
		{"service", []string{"create", "service", "clusterip", "web", "--tcp=80:8080"}, result{out: "service/web created\n"}},
		{"service exists", []string{"create", "service", "clusterip", "web", "--tcp=80:8080"}, result{err: "error: failed to create ClusterIP service: services \"web\" already exists\n", code: 1}},
		{"service without ports", []string{"create", "service", "clusterip", "x"}, result{err: "error: at least one tcp port specifier must be provided\n", code: 1}},
		{"service bad port", []string{"create", "service", "nodeport", "x", "--tcp=abc"}, result{err: "error: strconv.ParseUint: parsing \"abc\": invalid syntax\n", code: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { check(t, env, "", tt.args, tt.want) })
	}

	d, err := client.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 || d.Labels["app"] != "web" || d.Spec.Template.Spec.Containers[0].Name != "busybox" {
		t.Errorf("deployment %+v", d.Spec)
	}
	if cm, err := client.CoreV1().ConfigMaps("team-a").Get(ctx, "cfg", metav1.GetOptions{}); err != nil || cm.Data["a"] != "1" {
		t.Errorf("config map in team-a: %v %v", cm, err)
	}
	if s, err := client.CoreV1().Secrets("default").Get(ctx, "s", metav1.GetOptions{}); err != nil || string(s.Data["password"]) != "hunter2" {
		t.Errorf("secret: %v %v", s, err)
	}
	if svc, err := client.CoreV1().Services("default").Get(ctx, "web", metav1.GetOptions{}); err != nil || svc.Spec.Ports[0].TargetPort.IntValue() != 8080 || svc.Spec.Selector["app"] != "web" {
		t.Errorf("service: %v %v", svc, err)
	}
}

// TestCreateJobFromCronJob instantiates a cron job's template.
func TestCreateJobFromCronJob(t *testing.T) {
	env := clitest.Start(t)
	ctx := context.Background()
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
		Spec: batchv1.CronJobSpec{
			Schedule: "0 0 * * *",
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "a"}},
				Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyOnFailure,
					Containers:    []corev1.Container{{Name: "c", Image: "busybox:1.36"}},
				}}},
			},
		},
	}
	created, err := env.Server.Client.BatchV1().CronJobs("default").Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := env.OK(t, "", "create", "job", "manual", "--from=cronjob/nightly"); got != "job.batch/manual created\n" {
		t.Fatalf("printed %q", got)
	}
	job, err := env.Server.Client.BatchV1().Jobs("default").Get(ctx, "manual", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if job.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" || job.Labels["team"] != "a" {
		t.Errorf("job metadata %v %v", job.Annotations, job.Labels)
	}
	if len(job.OwnerReferences) != 1 || job.OwnerReferences[0].UID != created.UID || !*job.OwnerReferences[0].Controller {
		t.Errorf("owner references %+v", job.OwnerReferences)
	}
	if job.Spec.Template.Spec.Containers[0].Image != "busybox:1.36" {
		t.Errorf("template %+v", job.Spec.Template.Spec)
	}
}
