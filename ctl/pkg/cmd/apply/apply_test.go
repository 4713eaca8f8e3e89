package apply_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"navarch.dev/e2e/clitest"
)

const httpdManifest = "../../../../manifests/examples/httpd.yaml"

// TestSeedWalkthrough is the walkthrough: apply the httpd example,
// apply it again, change it, and check the three-way merge kept what
// others set.
func TestSeedWalkthrough(t *testing.T) {
	env := clitest.Start(t)
	ctx := context.Background()
	client := env.Server.Client

	if got, want := env.OK(t, "", "apply", "-f", httpdManifest), "deployment.apps/httpd-deployment created\nservice/httpd-service created\n"; got != want {
		t.Fatalf("first apply printed %q, want %q", got, want)
	}
	if got, want := env.OK(t, "", "apply", "-f", httpdManifest), "deployment.apps/httpd-deployment unchanged\nservice/httpd-service unchanged\n"; got != want {
		t.Fatalf("second apply printed %q, want %q", got, want)
	}
	d, err := client.AppsV1().Deployments("default").Get(ctx, "httpd-deployment", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "busybox:1.36" {
		t.Fatalf("stored deployment: replicas %d, image %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	}
	if !strings.Contains(d.Annotations["kubectl.kubernetes.io/last-applied-configuration"], `"replicas":2`) {
		t.Fatalf("last-applied annotation %q", d.Annotations["kubectl.kubernetes.io/last-applied-configuration"])
	}

	// Someone else labels the deployment; the manifest changes replicas.
	env.OK(t, "", "label", "deployment", "httpd-deployment", "owner=ops")
	raw, err := os.ReadFile(httpdManifest)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(raw), "replicas: 2", "replicas: 3", 1)
	if got, want := env.OK(t, edited, "apply", "-f", "-"), "deployment.apps/httpd-deployment configured\nservice/httpd-service unchanged\n"; got != want {
		t.Fatalf("apply of the edited manifest printed %q, want %q", got, want)
	}
	d, err = client.AppsV1().Deployments("default").Get(ctx, "httpd-deployment", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas %d after apply, want 3", *d.Spec.Replicas)
	}
	if d.Labels["owner"] != "ops" || d.Labels["app"] != "httpd_server" {
		t.Errorf("labels %v: the label set by others must survive the three-way merge", d.Labels)
	}
	// Applying the original again is a change back, not "unchanged".
	if got := env.OK(t, "", "apply", "-f", httpdManifest); !strings.HasPrefix(got, "deployment.apps/httpd-deployment configured\n") {
		t.Errorf("re-apply of the original printed %q", got)
	}
}

// TestApply covers apply's flags, messages and errors, each case against the
// objects the cases before it left.
func TestApply(t *testing.T) {
	env := clitest.Start(t)
	ctx := context.Background()
	client := env.Server.Client
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cm := func(name, extra string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n" + extra
	}
	cmFile := write("cm.yaml", cm("cm1", "data:\n  a: b\n"))
	write("tree/one.yaml", cm("tree1", ""))
	write("tree/sub/two.json", `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"tree2"}},{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"tree3"}}]}`)
	mixed := write("mixed.yaml", cm("Bad_Name", "")+"---\n"+cm("good", "")+"---\napiVersion: v1\nkind: Foo\nmetadata:\n  name: x\n")
	inOtherNS := write("public.yaml", cm("pub", "")+"  namespace: kube-public\n")
	unknownField := write("unknown.yaml", cm("uf", "bogus: 1\n"))
	ns := write("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")

	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantOut    string
		wantErr    string
		wantCode   int
		wantStored []string // config maps in default that must exist afterwards
		wantAbsent []string // and must not
	}{
		{
			name:       "client dry run sends nothing",
			args:       []string{"apply", "-f", cmFile, "--dry-run=client"},
			wantOut:    "configmap/cm1 created (dry run)\n",
			wantAbsent: []string{"cm1"},
		},
		{
			name:       "server dry run stores nothing",
			args:       []string{"apply", "-f", cmFile, "--dry-run=server"},
			wantOut:    "configmap/cm1 created (server dry run)\n",
			wantAbsent: []string{"cm1"},
		},
		{
			name:       "create",
			args:       []string{"apply", "-f", cmFile},
			wantOut:    "configmap/cm1 created\n",
			wantStored: []string{"cm1"},
		},
		{
			name:    "unchanged, printed as name",
			args:    []string{"apply", "-f", cmFile, "-o", "name"},
			wantOut: "configmap/cm1\n",
		},
		{
			name:    "changed data from stdin, server dry run",
			stdin:   cm("cm1", "data:\n  a: c\n"),
			args:    []string{"apply", "-f", "-", "--dry-run=server"},
			wantOut: "configmap/cm1 configured (server dry run)\n",
		},
		{
			name:    "the server dry run changed nothing",
			args:    []string{"apply", "-f", cmFile},
			wantOut: "configmap/cm1 unchanged\n",
		},
		{
			name:    "client dry run of an existing object",
			stdin:   cm("cm1", "data:\n  a: c\n"),
			args:    []string{"apply", "-f", "-", "--dry-run=client"},
			wantOut: "configmap/cm1 configured (dry run)\n",
		},
		{
			name:       "directory without -R takes its own files only",
			args:       []string{"apply", "-f", filepath.Join(dir, "tree")},
			wantOut:    "configmap/tree1 created\n",
			wantStored: []string{"tree1"},
			wantAbsent: []string{"tree2"},
		},
		{
			name:       "-R walks subdirectories and flattens Lists",
			args:       []string{"apply", "-R", "-f", filepath.Join(dir, "tree")},
			wantOut:    "configmap/tree1 unchanged\nconfigmap/tree2 created\nconfigmap/tree3 created\n",
			wantStored: []string{"tree2", "tree3"},
		},
		{
			name:       "-l filters the manifests",
			stdin:      cm("sel1", "  labels:\n    app: x\n") + "---\n" + cm("sel2", ""),
			args:       []string{"apply", "-f", "-", "-l", "app=x"},
			wantOut:    "configmap/sel1 created\n",
			wantStored: []string{"sel1"},
			wantAbsent: []string{"sel2"},
		},
		{
			name:     "nothing matching -l",
			stdin:    cm("sel3", ""),
			args:     []string{"apply", "-f", "-", "-l", "app=x"},
			wantErr:  "error: no objects passed to apply\n",
			wantCode: 1,
		},
		{
			name:    "failures do not stop the other objects",
			args:    []string{"apply", "-f", mixed},
			wantOut: "configmap/good created\n",
			wantErr: `Error from server (Invalid): error when creating "` + mixed + `": ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')
resource mapping not found for name: "x" namespace: "" from "` + mixed + `": no matches for kind "Foo" in version "v1"
ensure CRDs are installed first
`,
			wantCode:   1,
			wantStored: []string{"good"},
		},
		{
			name:     "a service to change",
			stdin:    "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports:\n  - port: 80\n",
			args:     []string{"apply", "-f", "-"},
			wantOut:  "service/svc created\n",
			wantCode: 0,
		},
		{
			name:     "a lone invalid change",
			stdin:    "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports:\n  - port: 800000\n",
			args:     []string{"apply", "-f", "-"},
			wantErr:  "The Service \"svc\" is invalid: \n* spec.ports[0].port: Invalid value: 800000: must be between 1 and 65535, inclusive\n* spec.ports[0].targetPort: Invalid value: 800000: must be between 1 and 65535, inclusive\n",
			wantCode: 1,
		},
		{
			name:     "namespace of the manifest against -n",
			args:     []string{"apply", "-f", inOtherNS, "-n", "default"},
			wantErr:  "error: the namespace from the provided object \"kube-public\" does not match the namespace \"default\". You must pass '--namespace=kube-public' to perform this operation.\n",
			wantCode: 1,
		},
		{
			name:    "namespace of the manifest",
			args:    []string{"apply", "-f", inOtherNS},
			wantOut: "configmap/pub created\n",
		},
		{
			name:    "-n for manifests without a namespace",
			stdin:   cm("in-public", ""),
			args:    []string{"apply", "-f", "-", "-n", "kube-public"},
			wantOut: "configmap/in-public created\n",
		},
		{
			name:    "cluster-scoped objects ignore -n",
			args:    []string{"apply", "-f", ns, "-n", "default"},
			wantOut: "namespace/team-a created\n",
		},
		{
			name:     "unknown fields fail by default",
			args:     []string{"apply", "-f", unknownField},
			wantErr:  `Error from server (BadRequest): error when creating "` + unknownField + `": strict decoding error: unknown field "bogus"` + "\n",
			wantCode: 1,
		},
		{
			name:       "--validate=warn passes them on with a warning",
			args:       []string{"apply", "-f", unknownField, "--validate=warn"},
			wantOut:    "configmap/uf created\n",
			wantErr:    "Warning: unknown field \"bogus\"\n",
			wantStored: []string{"uf"},
		},
		{
			name:     "bad --validate",
			args:     []string{"apply", "-f", cmFile, "--validate=maybe"},
			wantErr:  "error: invalid - validate option \"maybe\"; must be one of: strict (or true), warn, ignore (or false)\n",
			wantCode: 1,
		},
		{
			name:     "bad --dry-run",
			args:     []string{"apply", "-f", cmFile, "--dry-run=maybe"},
			wantErr:  "error: Invalid dry-run value (maybe). Must be \"none\", \"server\", or \"client\".\n",
			wantCode: 1,
		},
		{
			name:     "no -f",
			args:     []string{"apply"},
			wantErr:  "error: must specify one of -f and -k\n",
			wantCode: 1,
		},
		{
			name:     "a missing file",
			args:     []string{"apply", "-f", filepath.Join(dir, "nope.yaml")},
			wantErr:  "error: the path \"" + filepath.Join(dir, "nope.yaml") + "\" does not exist\n",
			wantCode: 1,
		},
		{
			name:     "arguments",
			args:     []string{"apply", "x", "-f", cmFile},
			wantErr:  "error: Unexpected args: [x]\nSee 'navctl apply -h' for help and examples\n",
			wantCode: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.Run(t, tt.stdin, tt.args...)
			if r.Code != tt.wantCode || r.Stdout != tt.wantOut || r.Stderr != tt.wantErr {
				t.Errorf("navctl %s:\ngot  exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
					strings.Join(tt.args, " "), r.Code, r.Stdout, r.Stderr, tt.wantCode, tt.wantOut, tt.wantErr)
			}
			for _, name := range tt.wantStored {
				if _, err := client.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{}); err != nil {
					t.Errorf("config map %s: %v", name, err)
				}
			}
			for _, name := range tt.wantAbsent {
				if _, err := client.CoreV1().ConfigMaps("default").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					t.Errorf("config map %s must not exist: %v", name, err)
				}
			}
		})
	}
}

// TestApplyPatchFailure checks the long error kubectl prints when the patch
// of one object among several is refused.
func TestApplyPatchFailure(t *testing.T) {
	env := clitest.Start(t)
	svc := "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports:\n  - port: 80\n"
	env.OK(t, svc, "apply", "-f", "-")
	bad := strings.Replace(svc, "port: 80", "port: 800000", 1) + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n"
	r := env.Run(t, bad, "apply", "-f", "-")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1", r.Code)
	}
	wantPrefix := "Error from server (Invalid): error when applying patch:\n{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
	wantMiddle := "\nto:\nResource: \"/v1, Resource=services\", GroupVersionKind: \"/v1, Kind=Service\"\nName: \"svc\", Namespace: \"default\"\nfor: \"STDIN\": error when patching \"STDIN\": Service \"svc\" is invalid: [spec.ports[0].port: Invalid value: 800000: must be between 1 and 65535, inclusive, spec.ports[0].targetPort: Invalid value: 800000: must be between 1 and 65535, inclusive]\n"
	if !strings.HasPrefix(r.Stderr, wantPrefix) || !strings.Contains(r.Stderr, wantMiddle) || !strings.Contains(r.Stderr, "Error from server (Invalid): error when creating \"STDIN\": ConfigMap \"Bad_Name\" is invalid") {
		t.Errorf("stderr:\n%s", r.Stderr)
	}
}

// TestApplyWarnsAboutMissingAnnotation: an object made without apply gets
// kubectl's warning, and the annotation.
func TestApplyWarnsAboutMissingAnnotation(t *testing.T) {
	env := clitest.Start(t)
	ctx := context.Background()
	if _, err := env.Server.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "made"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := env.Run(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\ndata:\n  a: b\n", "apply", "-f", "-")
	wantErr := "Warning: resource configmaps/made is missing the kubectl.kubernetes.io/last-applied-configuration annotation which is required by navctl apply. navctl apply should only be used on resources created declaratively by either navctl create --save-config or navctl apply. The missing annotation will be patched automatically.\n"
	if r.Code != 0 || r.Stdout != "configmap/made configured\n" || r.Stderr != wantErr {
		t.Fatalf("exit %d\nstdout %q\nstderr %q", r.Code, r.Stdout, r.Stderr)
	}
	got, err := env.Server.Client.CoreV1().ConfigMaps("default").Get(ctx, "made", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["a"] != "b" || got.Annotations["kubectl.kubernetes.io/last-applied-configuration"] == "" {
		t.Errorf("stored %v %v", got.Data, got.Annotations)
	}
}

// TestApplyOutputYAML: -o yaml prints the stored object.
func TestApplyOutputYAML(t *testing.T) {
	env := clitest.Start(t)
	out := env.OK(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ycm\ndata:\n  a: b\n", "apply", "-f", "-", "-o", "yaml")
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	meta := obj["metadata"].(map[string]any)
	if meta["uid"] == nil || meta["namespace"] != "default" || !strings.Contains(out, "kubectl.kubernetes.io/last-applied-configuration: |\n      {\"apiVersion\":\"v1\",\"data\":{\"a\":\"b\"},\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":{},\"name\":\"ycm\",\"namespace\":\"default\"}}\n") {
		t.Errorf("output:\n%s", out)
	}
}
