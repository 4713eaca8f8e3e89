package rollout_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/e2e/clitest"
)

var ctx = context.Background()

func int32p(i int32) *int32 { return &i }

func template(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: image}}},
	}
}

// makeDeployment creates a Deployment running image and, as the Deployment
// controller would have, one ReplicaSet per earlier image: revision i+1 runs
// images[i], and the last one is the Deployment's current template.
func makeDeployment(t *testing.T, c kubernetes.Interface, name string, images ...string) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": name},
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "2"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: int32p(2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: template(name, images[len(images)-1]),
		},
	}
	d, err := c.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	for i, image := range images {
		hash := string(rune('a' + i))
		tmpl := template(name, image)
		tmpl.Labels["pod-template-hash"] = hash
		rs := &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{
				Name: name + "-" + hash, Namespace: "default", Labels: tmpl.Labels,
				Annotations: map[string]string{
					"deployment.kubernetes.io/revision": string(rune('1' + i)),
					"kubernetes.io/change-cause":        "deploy " + image,
				},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: name, UID: d.UID, Controller: &yes}},
			},
			Spec: appsv1.ReplicaSetSpec{
				Replicas: int32p(0),
				Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels},
				Template: tmpl,
			},
		}
		if _, err := c.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func setStatus(t *testing.T, c kubernetes.Interface, name string, gen int64, st appsv1.DeploymentStatus) {
	t.Helper()
	d, err := c.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Status = st
	d.Status.ReadyReplicas = st.AvailableReplicas
	d.Status.ObservedGeneration = d.Generation + gen
	if _, err := c.AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func getDeployment(t *testing.T, c kubernetes.Interface, name string) *appsv1.Deployment {
	t.Helper()
	d, err := c.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func check(t *testing.T, r clitest.Result, args string, code int, out, errOut string) {
	t.Helper()
	if r.Code != code || r.Stdout != out || r.Stderr != errOut {
		t.Errorf("navctl %s: exit %d, want %d\nstdout: %q\nwant:   %q\nstderr: %q\nwant:   %q", args, r.Code, code, r.Stdout, out, r.Stderr, errOut)
	}
}

func TestStatus(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	makeDeployment(t, c, "web", "web:1", "web:2")

	tests := []struct {
		name    string
		gen     int64 // observedGeneration relative to generation
		status  appsv1.DeploymentStatus
		args    string
		code    int
		out     string
		errOut  string
		timeout bool
	}{
		{name: "spec not observed", gen: -1, out: "Waiting for deployment spec update to be observed...\n"},
		{name: "updating", status: appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1},
			out: "Waiting for deployment \"web\" rollout to finish: 1 out of 2 new replicas have been updated...\n"},
		{name: "old replicas left", status: appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 2},
			out: "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination...\n"},
		{name: "not yet available", status: appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 1},
			out: "Waiting for deployment \"web\" rollout to finish: 1 of 2 updated replicas are available...\n"},
		{name: "done", status: appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2},
			out: "deployment \"web\" successfully rolled out\n"},
		{name: "revision pinned", status: appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}, args: "--revision=2",
			out: "deployment \"web\" successfully rolled out\n"},
		{name: "other revision", args: "--revision=3", code: 1,
			errOut: "error: desired revision (3) is different from the running revision (2)\n"},
		{name: "progress deadline", status: appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded"}}},
			code: 1, errOut: "error: deployment \"web\" exceeded its progress deadline\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setStatus(t, c, "web", tt.gen, tt.status)
			args := append([]string{"rollout", "status", "deployment/web", "--watch=false"}, strings.Fields(tt.args)...)
			check(t, env.Run(t, "", args...), strings.Join(args, " "), tt.code, tt.out, tt.errOut)
		})
	}

	t.Run("timeout", func(t *testing.T) {
		setStatus(t, c, "web", 0, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 1})
		r := env.Run(t, "", "rollout", "status", "deploy", "web", "--timeout=1s")
		check(t, r, "rollout status deploy web --timeout=1s", 1,
			"Waiting for deployment \"web\" rollout to finish: 1 of 2 updated replicas are available...\n",
			"error: timed out waiting for the condition\n")
	})

	t.Run("watch until done", func(t *testing.T) {
		setStatus(t, c, "web", 0, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 1})
		done := make(chan clitest.Result)
		go func() { done <- env.Run(t, "", "rollout", "status", "deployment/web") }()
		// The controller makes progress while navctl watches (or before it
		// starts: then its first look already sees the rollout done).
		setStatus(t, c, "web", 0, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2})
		r := <-done
		if r.Code != 0 || !strings.HasSuffix(r.Stdout, "deployment \"web\" successfully rolled out\n") {
			t.Errorf("exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
		}
	})

	t.Run("daemonset and statefulset", func(t *testing.T) {
		ds := &appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default"},
			Spec: appsv1.DaemonSetSpec{
				Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
				Template:       template("agent", "agent:1"),
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
			},
		}
		ds, err := c.AppsV1().DaemonSets("default").Create(ctx, ds, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: ds.Generation, DesiredNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberAvailable: 2}
		if _, err := c.AppsV1().DaemonSets("default").UpdateStatus(ctx, ds, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		check(t, env.Run(t, "", "rollout", "status", "ds/agent", "--watch=false"), "rollout status ds/agent", 0,
			"Waiting for daemon set \"agent\" rollout to finish: 2 of 3 updated pods are available...\n", "")

		sts := &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
			Spec: appsv1.StatefulSetSpec{
				Replicas:       int32p(3),
				Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
				Template:       template("db", "db:1"),
				UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			},
		}
		sts, err = c.AppsV1().StatefulSets("default").Create(ctx, sts, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 3, ReadyReplicas: 1}
		if _, err := c.AppsV1().StatefulSets("default").UpdateStatus(ctx, sts, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		check(t, env.Run(t, "", "rollout", "status", "statefulset/db", "--watch=false"), "rollout status statefulset/db", 0,
			"Waiting for 2 pods to be ready...\n", "")
	})

	errs := []struct{ name, args, errOut string }{
		{"no resource", "rollout status", "error: required resource not specified\n"},
		{"not found", "rollout status deploy/nope", "Error from server (NotFound): deployments.apps \"nope\" not found\n"},
		{"not a workload", "rollout status svc/kubernetes", "error: no status viewer has been implemented for Service\n"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			check(t, env.Run(t, "", strings.Fields(tt.args)...), tt.args, 1, "", tt.errOut)
		})
	}
}

// template1 is how revision 1's pod template is described.
const template1 = `Pod Template:
  Labels:	app=web
	pod-template-hash=a
  Containers:
   web:
    Image:	web:1
    Port:	<none>
    Host Port:	<none>
    Environment:	<none>
    Mounts:	<none>
  Volumes:	<none>
  Node-Selectors:	<none>
  Tolerations:	<none>
`

// revision1 is history --revision=1: the template with its change cause.
var revision1 = "deployment.apps/web with revision #1\n" + strings.Replace(template1, "  Containers:", "  Annotations:\tkubernetes.io/change-cause: deploy web:1\n  Containers:", 1) + "\n"

func TestHistoryAndUndo(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	makeDeployment(t, c, "web", "web:1", "web:2")

	steps := []struct {
		name   string
		args   string
		code   int
		out    string
		errOut string
		image  string // the Deployment's image afterwards
	}{
		{name: "history", args: "rollout history deployment/web",
			out: "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         deploy web:1\n2         deploy web:2\n\n", image: "web:2"},
		{name: "one revision", args: "rollout history deploy web --revision=1", out: revision1, image: "web:2"},
		{name: "missing revision", args: "rollout history deploy/web --revision=5", code: 1, errOut: "error: unable to find the specified revision\n", image: "web:2"},
		{name: "history objects", args: "rollout history deploy/web -o name", out: "replicaset.apps/web-a\nreplicaset.apps/web-b\n", image: "web:2"},
		{name: "undo dry run", args: "rollout undo deploy/web --dry-run=client",
			out: "deployment.apps/web " + template1 + " (dry run)\n", image: "web:2"},
		{name: "undo server dry run", args: "rollout undo deploy/web --dry-run=server", out: "deployment.apps/web rolled back (server dry run)\n", image: "web:2"},
		{name: "undo", args: "rollout undo deploy/web", out: "deployment.apps/web rolled back\n", image: "web:1"},
		{name: "undo to revision", args: "rollout undo deploy/web --to-revision=2", out: "deployment.apps/web rolled back\n", image: "web:2"},
		{name: "undo to the current revision", args: "rollout undo deploy/web --to-revision=2",
			out: "deployment.apps/web skipped rollback (current template already matches revision 2)\n", image: "web:2"},
		{name: "undo to a missing revision", args: "rollout undo deploy/web --to-revision=9", code: 1,
			errOut: "error: unable to find specified revision 9 in history\n", image: "web:2"},
		{name: "undo a service", args: "rollout undo svc/kubernetes", code: 1,
			errOut: "error: error retrieving rollbacker for \"Service\", no visitor method exists for { Service}\n", image: "web:2"},
		{name: "history of a service", args: "rollout history svc/kubernetes", code: 1,
			errOut: "error: error retrieving history for \"Service\", no visitor method exists for { Service}\n", image: "web:2"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			check(t, env.Run(t, "", strings.Fields(s.args)...), s.args, s.code, s.out, s.errOut)
			if img := getDeployment(t, c, "web").Spec.Template.Spec.Containers[0].Image; img != s.image {
				t.Errorf("image %q, want %q", img, s.image)
			}
		})
	}

	t.Run("undo takes the revision's change cause", func(t *testing.T) {
		env.OK(t, "", "rollout", "undo", "deploy/web", "--to-revision=1")
		d := getDeployment(t, c, "web")
		if d.Annotations["kubernetes.io/change-cause"] != "deploy web:1" || d.Annotations["deployment.kubernetes.io/revision"] != "2" {
			t.Errorf("annotations %v", d.Annotations)
		}
		if _, ok := d.Spec.Template.Labels["pod-template-hash"]; ok {
			t.Errorf("template labels %v: the hash label was copied", d.Spec.Template.Labels)
		}
	})

	t.Run("no history", func(t *testing.T) {
		makeDeployment(t, c, "solo", "solo:1")
		check(t, env.Run(t, "", "rollout", "undo", "deploy/solo"), "rollout undo deploy/solo", 1, "",
			"error: no rollout history found for deployment \"solo\"\n")
	})
}

func TestDaemonSetHistory(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: template("agent", "agent:2"),
		},
	}
	ds, err := c.AppsV1().DaemonSets("default").Create(ctx, ds, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	for i, image := range []string{"agent:1", "agent:2"} {
		data := `{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"app":"agent"}},"spec":{"containers":[{"name":"agent","image":"` + image + `"}]}}}}`
		cr := &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{
				Name: "agent-" + string(rune('a'+i)), Namespace: "default", Labels: map[string]string{"app": "agent"},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: ds.UID, Controller: &yes}},
			},
			Data:     runtime.RawExtension{Raw: []byte(data)},
			Revision: int64(i + 1),
		}
		if _, err := c.AppsV1().ControllerRevisions("default").Create(ctx, cr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	check(t, env.Run(t, "", "rollout", "history", "ds/agent"), "rollout history ds/agent", 0,
		"daemonset.apps/agent \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n", "")
	r := env.Run(t, "", "rollout", "history", "ds/agent", "--revision=1")
	if r.Code != 0 || !strings.Contains(r.Stdout, "    Image:\tagent:1\n") {
		t.Errorf("history --revision=1: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	check(t, env.Run(t, "", "rollout", "undo", "ds/agent"), "rollout undo ds/agent", 0, "daemonset.apps/agent rolled back\n", "")
	got, err := c.AppsV1().DaemonSets("default").Get(ctx, "agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := got.Spec.Template.Spec.Containers[0].Image; img != "agent:1" {
		t.Errorf("image %q after undo, want agent:1", img)
	}
}

func TestRestartPauseResume(t *testing.T) {
	env := clitest.Start(t)
	c := env.Server.Client
	makeDeployment(t, c, "web", "web:1")
	makeDeployment(t, c, "api", "api:1")
	makeDeployment(t, c, "db", "db:1")

	steps := []struct {
		name   string
		args   string
		code   int
		out    string
		errOut string
		paused bool
	}{
		{name: "pause", args: "rollout pause deployment/web", out: "deployment.apps/web paused\n", paused: true},
		{name: "pause again", args: "rollout pause deployment/web", code: 1, errOut: "error: deployments.apps \"web\" is already paused\n", paused: true},
		{name: "restart paused", args: "rollout restart deployment/web", code: 1,
			errOut: "error: deployments.apps \"web\" can't restart paused deployment (run rollout resume first)\n", paused: true},
		{name: "undo paused", args: "rollout undo deployment/web --to-revision=1", code: 1,
			errOut: "error: you cannot rollback a paused deployment; resume it first with 'navctl rollout resume' and try again\n", paused: true},
		{name: "resume", args: "rollout resume deployment/web", out: "deployment.apps/web resumed\n"},
		{name: "resume again", args: "rollout resume deploy/web", code: 1, errOut: "error: deployments.apps \"web\" is not paused\n"},
		{name: "restart", args: "rollout restart deploy/web", out: "deployment.apps/web restarted\n"},
		{name: "restart all by selector", args: "rollout restart deployment -l app=api", out: "deployment.apps/api restarted\n"},
		{name: "selector matching nothing", args: "rollout restart deployment -l app=none", errOut: "No resources found in default namespace.\n"},
		{name: "restart with a missing one", args: "rollout restart deploy/nope deploy/db", code: 1,
			out: "deployment.apps/db restarted\n", errOut: "Error from server (NotFound): deployments.apps \"nope\" not found\n"},
		{name: "pause a service", args: "rollout pause svc/kubernetes", code: 1, errOut: "error: services \"kubernetes\" pausing is not supported\n"},
		{name: "restart a service", args: "rollout restart svc/kubernetes", code: 1, errOut: "error: services \"kubernetes\" restarting is not supported\n"},
		{name: "no resource", args: "rollout pause", code: 1, errOut: "error: required resource not specified\n"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			check(t, env.Run(t, "", strings.Fields(s.args)...), s.args, s.code, s.out, s.errOut)
			if p := getDeployment(t, c, "web").Spec.Paused; p != s.paused {
				t.Errorf("paused = %v, want %v", p, s.paused)
			}
		})
	}
	at := getDeployment(t, c, "web").Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"]
	if _, err := time.Parse(time.RFC3339, at); err != nil {
		t.Errorf("restartedAt annotation %q: %v", at, err)
	}
}
