package taint_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/e2e/clitest"
)

// TestTaint runs a sequence of taint commands against two nodes; each step
// sees the taints the steps before it left.
func TestTaint(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	for _, name := range []string{"node-1", "node-2"} {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"pool": "a"}}}
		if _, err := c.CoreV1().Nodes().Create(context.Background(), n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	const nameRule = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
	steps := []struct {
		name     string
		args     string
		wantOut  string
		wantErr  string
		wantCode int
		taints   string // node-1's taints afterwards, as key=value:effect
	}{
		{name: "add", args: "taint nodes node-1 dedicated=db:NoSchedule", wantOut: "node/node-1 tainted\n", taints: "dedicated=db:NoSchedule"},
		{name: "add existing", args: "taint nodes node-1 dedicated=web:NoSchedule", wantCode: 1,
			wantErr: "error: node node-1 already has dedicated taint(s) with same effect(s) and --overwrite is false\n", taints: "dedicated=db:NoSchedule"},
		{name: "overwrite", args: "taint nodes node-1 dedicated=web:NoSchedule --overwrite", wantOut: "node/node-1 modified\n", taints: "dedicated=web:NoSchedule"},
		{name: "add two", args: "taint no node-1 dedicated:NoExecute gpu=true:PreferNoSchedule", wantOut: "node/node-1 tainted\n",
			taints: "dedicated:NoExecute gpu=true:PreferNoSchedule dedicated=web:NoSchedule"},
		{name: "remove one effect", args: "taint nodes node-1 dedicated:NoExecute-", wantOut: "node/node-1 untainted\n",
			taints: "gpu=true:PreferNoSchedule dedicated=web:NoSchedule"},
		{name: "remove by key", args: "taint node node-1 dedicated-", wantOut: "node/node-1 untainted\n", taints: "gpu=true:PreferNoSchedule"},
		{name: "remove missing", args: "taint nodes node-1 dedicated-", wantCode: 1, wantErr: "error: taint \"dedicated\" not found\n", taints: "gpu=true:PreferNoSchedule"},
		{name: "add and remove", args: "taint nodes node-1 gpu- zone=a:NoSchedule", wantOut: "node/node-1 modified\n", taints: "zone=a:NoSchedule"},
		{name: "name output", args: "taint nodes node-1 x=1:NoSchedule -o name", wantOut: "node/node-1\n", taints: "x=1:NoSchedule zone=a:NoSchedule"},
		{name: "client dry run", args: "taint nodes node-1 y=1:NoSchedule --dry-run=client", wantOut: "node/node-1 tainted (dry run)\n", taints: "x=1:NoSchedule zone=a:NoSchedule"},
		{name: "server dry run", args: "taint nodes node-1 y=1:NoSchedule --dry-run=server", wantOut: "node/node-1 tainted (server dry run)\n", taints: "x=1:NoSchedule zone=a:NoSchedule"},
		{name: "all nodes", args: "taint nodes --all q=2:NoSchedule", wantOut: "node/node-1 tainted\nnode/node-2 tainted\n", taints: "q=2:NoSchedule x=1:NoSchedule zone=a:NoSchedule"},
		{name: "selector", args: "taint nodes -l pool=a q- x- zone-", wantCode: 1, wantOut: "node/node-1 untainted\n",
			wantErr: "taint \"x\" not found\ntaint \"zone\" not found\n", taints: ""},
		{name: "bad effect", args: "taint nodes node-1 a=b:Sometimes", wantCode: 1,
			wantErr: "error: invalid taint effect: Sometimes, unsupported taint effect\nSee 'navctl taint -h' for help and examples\n"},
		{name: "no effect", args: "taint nodes node-1 a=b", wantCode: 1,
			wantErr: "error: invalid taint spec: a=b, " + nameRule + "\nSee 'navctl taint -h' for help and examples\n"},
		{name: "bad key", args: "taint nodes node-1 b@d=x:NoSchedule", wantCode: 1,
			wantErr: "error: invalid taint spec: b@d=x:NoSchedule, " + nameRule + "\nSee 'navctl taint -h' for help and examples\n"},
		{name: "duplicate", args: "taint nodes node-1 a=b:NoSchedule a=c:NoSchedule", wantCode: 1,
			wantErr: "error: duplicated taints with the same key and effect: {a c NoSchedule <nil>}\nSee 'navctl taint -h' for help and examples\n"},
		{name: "add and remove the same", args: "taint nodes node-1 a=b:NoSchedule a:NoSchedule-", wantCode: 1,
			wantErr: "error: can not both modify and remove the following taint(s) in the same command: a=NoSchedule\n"},
		{name: "not a node", args: "taint pods x a=b:NoSchedule", wantCode: 1, wantErr: "error: invalid resource type pods, only node types are supported\n"},
		{name: "no name", args: "taint nodes a=b:NoSchedule", wantCode: 1, wantErr: "error: at least one resource name must be specified since 'all' parameter is not set\n"},
		{name: "no taint", args: "taint nodes node-1", wantCode: 1, wantErr: "error: at least one taint update is required\n"},
		{name: "taint before name", args: "taint nodes node-1 a=b:NoSchedule node-2", wantCode: 1, wantErr: "error: all resources must be specified before taint changes: node-2\n"},
		{name: "nothing", args: "taint", wantCode: 1, wantErr: "error: one or more resources must be specified as <resource> <name>\n"},
		{name: "all and selector", args: "taint nodes --all -l pool=a a-", wantCode: 1, wantErr: "error: setting 'all' parameter with a non empty selector is prohibited\n"},
		{name: "unknown node", args: "taint nodes nope a=b:NoSchedule", wantCode: 1, wantErr: "Error from server (NotFound): nodes \"nope\" not found\n"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			r := env.Run(t, "", strings.Fields(s.args)...)
			if r.Code != s.wantCode || r.Stdout != s.wantOut || r.Stderr != s.wantErr {
				t.Errorf("navctl %s: exit %d, want %d\nstdout: %q\nwant:   %q\nstderr: %q\nwant:   %q",
					s.args, r.Code, s.wantCode, r.Stdout, s.wantOut, r.Stderr, s.wantErr)
			}
			want := s.taints
			n, err := c.CoreV1().Nodes().Get(context.Background(), "node-1", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tn := range n.Spec.Taints {
				got = append(got, tn.ToString())
			}
			if g := strings.Join(got, " "); g != want {
				t.Errorf("node-1 taints %q, want %q", g, want)
			}
		})
	}
	// node-2 lacked taints the selector step removes, so it was left alone.
	n, err := c.CoreV1().Nodes().Get(context.Background(), "node-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0].ToString() != "q=2:NoSchedule" {
		t.Errorf("node-2 taints %v, want q=2:NoSchedule", n.Spec.Taints)
	}
}
