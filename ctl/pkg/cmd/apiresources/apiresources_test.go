package apiresources_test

import (
	"strings"
	"testing"

	"navarch.dev/e2e/clitest"
)

func TestAPIResources(t *testing.T) {
	env := clitest.Start(t)
	tests := []struct {
		name   string
		args   []string
		want   string // the whole output, or with contains a part of it
		exact  bool
		code   int
		stderr string
	}{
		{
			name: "one group",
			args: []string{"api-resources", "--api-group=apps"},
			want: `NAME                  SHORTNAMES   APIVERSION   NAMESPACED   KIND
controllerrevisions                apps/v1      true         ControllerRevision
daemonsets            ds           apps/v1      true         DaemonSet
deployments           deploy       apps/v1      true         Deployment
replicasets           rs           apps/v1      true         ReplicaSet
statefulsets          sts          apps/v1      true         StatefulSet
`,
			exact: true,
		},
		{
			name:  "names of cluster-scoped resources",
			args:  []string{"api-resources", "--namespaced=false", "-o", "name", "--api-group="},
			want:  "namespaces\nnodes\npersistentvolumes\n",
			exact: true,
		},
		{
			name:  "categories and no headers",
			args:  []string{"api-resources", "--categories=all", "--api-group=batch", "--no-headers", "--sort-by=kind"},
			want:  "cronjobs   cj    batch/v1   true   CronJob\njobs             batch/v1   true   Job\n",
			exact: true,
		},
		{
			name: "wide shows verbs",
			args: []string{"api-resources", "-o", "wide", "--api-group=policy"},
			want: "VERBS                                                        CATEGORIES\npoddisruptionbudgets   pdb          policy/v1    true         PodDisruptionBudget   create,delete,deletecollection,get,list,patch,update,watch   \n",
		},
		{
			name: "json",
			args: []string{"api-resources", "-o", "json", "--api-group=policy"},
			want: "{\n    \"kind\": \"APIResourceList\",\n    \"apiVersion\": \"v1\",\n    \"groupVersion\": \"\",\n    \"resources\": [\n        {\n            \"name\": \"poddisruptionbudgets\",\n            \"singularName\": \"poddisruptionbudget\",\n            \"namespaced\": true,\n            \"group\": \"policy\",\n            \"version\": \"v1\",\n            \"kind\": \"PodDisruptionBudget\",",
		},
		{
			name: "default lists the core group first",
			args: []string{"api-resources"},
			want: "NAME                        SHORTNAMES   APIVERSION                     NAMESPACED   KIND\nconfigmaps                  cm           v1                             true         ConfigMap\n",
		},
		{name: "bad output", args: []string{"api-resources", "-o", "yaml2"}, code: 1, stderr: "error: unable to match a printer suitable for the output format \"yaml2\", allowed formats are: json,name,wide,yaml\n"},
		{name: "bad sort", args: []string{"api-resources", "--sort-by=verbs"}, code: 1, stderr: "error: --sort-by accepts only name or kind\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := env.Run(t, "", tc.args...)
			if r.Code != tc.code || r.Stderr != tc.stderr {
				t.Fatalf("exit %d, stderr %q; want %d, %q", r.Code, r.Stderr, tc.code, tc.stderr)
			}
			if tc.exact && r.Stdout != tc.want || !tc.exact && !strings.Contains(r.Stdout, tc.want) {
				t.Errorf("navctl %s:\ngot:\n%s\nwant (exact=%v):\n%s", strings.Join(tc.args, " "), r.Stdout, tc.exact, tc.want)
			}
		})
	}
}
