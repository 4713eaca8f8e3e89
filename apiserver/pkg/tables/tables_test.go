package tables

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// now is the time every test measures ages against.
var now = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func microAgo(d time.Duration) metav1.MicroTime { return metav1.NewMicroTime(now.Add(-d)) }

func objectMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(10 * time.Minute)}
}

// row renders obj through Table, as the API server answers kubectl, and returns its cells keyed
// by the column header kubectl prints (the upper-cased column name).
func row(t *testing.T, obj runtime.Object) map[string]interface{} {
	t.Helper()
	table, err := Table(obj, now, false)
	if err != nil {
		t.Fatalf("Table: %v", err)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("Table has %d rows, want 1", len(table.Rows))
	}
	cells := table.Rows[0].Cells
	if len(cells) != len(table.ColumnDefinitions) {
		t.Fatalf("%d cells for %d columns", len(cells), len(table.ColumnDefinitions))
	}
	out := map[string]interface{}{}
	for i, c := range table.ColumnDefinitions {
		out[strings.ToUpper(c.Name)] = cells[i]
	}
	return out
}

// assertCells checks the named cells, values and Go types alike (int64 vs string matters on
// the wire).
func assertCells(t *testing.T, got map[string]interface{}, want map[string]interface{}) {
	t.Helper()
	for col, w := range want {
		g, ok := got[col]
		if !ok {
			t.Errorf("no column %q (have %v)", col, keys(got))
			continue
		}
		if g != w {
			t.Errorf("%s = %#v, want %#v", col, g, w)
		}
	}
}

func keys(m map[string]interface{}) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// header lists the column names, "+" marking those only -o wide shows.
func header(cols []metav1.TableColumnDefinition) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
		if c.Priority == 1 {
			out[i] = "+" + c.Name
		}
	}
	return out
}

func TestColumns(t *testing.T) {
	tests := []struct {
		name string
		gk   schema.GroupKind
		want []string
	}{
		{"pods", schema.GroupKind{Kind: "Pod"}, []string{"Name", "Ready", "Status", "Restarts", "Age", "+IP", "+Node", "+Nominated Node", "+Readiness Gates"}},
		{"podtemplates", schema.GroupKind{Kind: "PodTemplate"}, []string{"Name", "Containers", "Images", "Pod Labels"}},
		{"namespaces", schema.GroupKind{Kind: "Namespace"}, []string{"Name", "Status", "Age"}},
		{"services", schema.GroupKind{Kind: "Service"}, []string{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "+Selector"}},
		{"endpoints", schema.GroupKind{Kind: "Endpoints"}, []string{"Name", "Endpoints", "Age"}},
		{"nodes", schema.GroupKind{Kind: "Node"}, []string{"Name", "Status", "Roles", "Age", "Version", "+Internal-IP", "+External-IP", "+OS-Image", "+Kernel-Version", "+Container-Runtime"}},
		{"configmaps", schema.GroupKind{Kind: "ConfigMap"}, []string{"Name", "Data", "Age"}},
		{"secrets", schema.GroupKind{Kind: "Secret"}, []string{"Name", "Type", "Data", "Age"}},
		{"serviceaccounts", schema.GroupKind{Kind: "ServiceAccount"}, []string{"Name", "Secrets", "Age"}},
		{"events", schema.GroupKind{Kind: "Event"}, []string{"Last Seen", "Type", "Reason", "Object", "+Subobject", "+Source", "Message", "+First Seen", "+Count", "+Name"}},
		{"events.k8s.io events", schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, []string{"Last Seen", "Type", "Reason", "Object", "+Subobject", "+Source", "Message", "+First Seen", "+Count", "+Name"}},
		{"replicationcontrollers", schema.GroupKind{Kind: "ReplicationController"}, []string{"Name", "Desired", "Current", "Ready", "Age", "+Containers", "+Images", "+Selector"}},
		{"persistentvolumes", schema.GroupKind{Kind: "PersistentVolume"}, []string{"Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass", "VolumeAttributesClass", "Reason", "Age", "+VolumeMode"}},
		{"persistentvolumeclaims", schema.GroupKind{Kind: "PersistentVolumeClaim"}, []string{"Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age", "+VolumeMode"}},
		{"resourcequotas", schema.GroupKind{Kind: "ResourceQuota"}, []string{"Name", "Request", "Limit", "Age"}},
		{"limitranges", schema.GroupKind{Kind: "LimitRange"}, []string{"Name", "Created At"}},
		{"deployments", schema.GroupKind{Group: "apps", Kind: "Deployment"}, []string{"Name", "Ready", "Up-to-date", "Available", "Age", "+Containers", "+Images", "+Selector"}},
		{"replicasets", schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, []string{"Name", "Desired", "Current", "Ready", "Age", "+Containers", "+Images", "+Selector"}},
		{"statefulsets", schema.GroupKind{Group: "apps", Kind: "StatefulSet"}, []string{"Name", "Ready", "Age", "+Containers", "+Images"}},
		{"daemonsets", schema.GroupKind{Group: "apps", Kind: "DaemonSet"}, []string{"Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age", "+Containers", "+Images", "+Selector"}},
		{"controllerrevisions", schema.GroupKind{Group: "apps", Kind: "ControllerRevision"}, []string{"Name", "Controller", "Revision", "Age"}},
		{"jobs", schema.GroupKind{Group: "batch", Kind: "Job"}, []string{"Name", "Status", "Completions", "Duration", "Age", "+Containers", "+Images", "+Selector"}},
		{"cronjobs", schema.GroupKind{Group: "batch", Kind: "CronJob"}, []string{"Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age", "+Containers", "+Images", "+Selector"}},
		{"leases", schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}, []string{"Name", "Holder", "Age"}},
		{"endpointslices", schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}, []string{"Name", "AddressType", "Ports", "Endpoints", "Age"}},
		{"poddisruptionbudgets", schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}, []string{"Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"}},
		{"horizontalpodautoscalers", schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}, []string{"Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"}},
		{"ingresses", schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}, []string{"Name", "Class", "Hosts", "Address", "Ports", "Age"}},
		{"ingressclasses", schema.GroupKind{Group: "networking.k8s.io", Kind: "IngressClass"}, []string{"Name", "Controller", "Parameters", "Age"}},
		{"networkpolicies", schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}, []string{"Name", "Pod-Selector", "Age"}},
		{"storageclasses", schema.GroupKind{Group: "storage.k8s.io", Kind: "StorageClass"}, []string{"Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"}},
		{"roles", schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "Role"}, []string{"Name", "Created At"}},
		{"rolebindings", schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}, []string{"Name", "Role", "Age", "+Users", "+Groups", "+ServiceAccounts"}},
		{"clusterroles", schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}, []string{"Name", "Created At"}},
		{"clusterrolebindings", schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}, []string{"Name", "Role", "Age", "+Users", "+Groups", "+ServiceAccounts"}},
		{"unknown kind", schema.GroupKind{Group: "example.com", Kind: "Widget"}, []string{"Name", "Created At"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cols := Columns(tc.gk)
			if got := header(cols); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("columns\n got %q\nwant %q", got, tc.want)
			}
			for _, c := range cols {
				if c.Description == "" {
					t.Errorf("column %q has no description", c.Name)
				}
				if c.Type == "" {
					t.Errorf("column %q has no type", c.Name)
				}
				if (c.Name == "Name") != (c.Format == "name") {
					t.Errorf("column %q has format %q", c.Name, c.Format)
				}
			}
		})
	}
}

func TestColumnsTypes(t *testing.T) {
	tests := []struct {
		name   string
		gk     schema.GroupKind
		column string
		want   string
	}{
		{"pod restarts is a string", schema.GroupKind{Kind: "Pod"}, "Restarts", "string"},
		{"replicaset desired is an integer", schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}, "Desired", "integer"},
		{"cronjob suspend is a boolean", schema.GroupKind{Group: "batch", Kind: "CronJob"}, "Suspend", "boolean"},
		{"default created at is a date", schema.GroupKind{Kind: "LimitRange"}, "Created At", "date"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range Columns(tc.gk) {
				if c.Name == tc.column {
					if c.Type != tc.want {
						t.Errorf("type %q, want %q", c.Type, tc.want)
					}
					return
				}
			}
			t.Errorf("no column %q", tc.column)
		})
	}
}

func TestColumnsReturnsACopy(t *testing.T) {
	pod := schema.GroupKind{Kind: "Pod"}
	cols := Columns(pod)
	cols[0].Name = "changed"
	if got := Columns(pod)[0].Name; got != "Name" {
		t.Errorf("first pod column after caller's edit = %q, want Name", got)
	}
}

// TestEveryKindFitsItsColumns renders one object of every served kind and checks that its
// cells line up with its kind's columns and that Name is the object's name.
func TestEveryKindFitsItsColumns(t *testing.T) {
	one := int32(1)
	tests := []struct {
		name string
		obj  runtime.Object
		gk   schema.GroupKind
	}{
		{"pod", &corev1.Pod{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "Pod"}},
		{"podtemplate", &corev1.PodTemplate{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "PodTemplate"}},
		{"namespace", &corev1.Namespace{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "Namespace"}},
		{"service", &corev1.Service{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "Service"}},
		{"endpoints", &corev1.Endpoints{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "Endpoints"}},
		{"node", &corev1.Node{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "Node"}},
		{"configmap", &corev1.ConfigMap{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "ConfigMap"}},
		{"secret", &corev1.Secret{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "Secret"}},
		{"serviceaccount", &corev1.ServiceAccount{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "ServiceAccount"}},
		{"event", &corev1.Event{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "Event"}},
		{"replicationcontroller", &corev1.ReplicationController{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "ReplicationController"}},
		{"persistentvolume", &corev1.PersistentVolume{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "PersistentVolume"}},
		{"persistentvolumeclaim", &corev1.PersistentVolumeClaim{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "PersistentVolumeClaim"}},
		{"resourcequota", &corev1.ResourceQuota{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "ResourceQuota"}},
		{"limitrange", &corev1.LimitRange{ObjectMeta: objectMeta("x")}, schema.GroupKind{Kind: "LimitRange"}},
		{"deployment", &appsv1.Deployment{ObjectMeta: objectMeta("x"), Spec: appsv1.DeploymentSpec{Replicas: &one}}, schema.GroupKind{Group: "apps", Kind: "Deployment"}},
		{"replicaset", &appsv1.ReplicaSet{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}},
		{"statefulset", &appsv1.StatefulSet{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "apps", Kind: "StatefulSet"}},
		{"daemonset", &appsv1.DaemonSet{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "apps", Kind: "DaemonSet"}},
		{"controllerrevision", &appsv1.ControllerRevision{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "apps", Kind: "ControllerRevision"}},
		{"job", &batchv1.Job{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "batch", Kind: "Job"}},
		{"cronjob", &batchv1.CronJob{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "batch", Kind: "CronJob"}},
		{"lease", &coordinationv1.Lease{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"}},
		{"endpointslice", &discoveryv1.EndpointSlice{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}},
		{"events.k8s.io event", &eventsv1.Event{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}},
		{"poddisruptionbudget", &policyv1.PodDisruptionBudget{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}},
		{"autoscaling/v1 hpa", &autoscalingv1.HorizontalPodAutoscaler{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}},
		{"autoscaling/v2 hpa", &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}},
		{"ingress", &networkingv1.Ingress{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "networking.k8s.io", Kind: "Ingress"}},
		{"ingressclass", &networkingv1.IngressClass{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "networking.k8s.io", Kind: "IngressClass"}},
		{"networkpolicy", &networkingv1.NetworkPolicy{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "networking.k8s.io", Kind: "NetworkPolicy"}},
		{"storageclass", &storagev1.StorageClass{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "storage.k8s.io", Kind: "StorageClass"}},
		{"role", &rbacv1.Role{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "Role"}},
		{"rolebinding", &rbacv1.RoleBinding{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}},
		{"clusterrole", &rbacv1.ClusterRole{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}},
		{"clusterrolebinding", &rbacv1.ClusterRoleBinding{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}},
		{"kind without printer", &schedulingv1.PriorityClass{ObjectMeta: objectMeta("x")}, schema.GroupKind{Group: "scheduling.k8s.io", Kind: "PriorityClass"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cells, err := Cells(tc.obj, now)
			if err != nil {
				t.Fatalf("Cells: %v", err)
			}
			cols := Columns(tc.gk)
			if len(cells) != len(cols) {
				t.Fatalf("%d cells for %d columns %q", len(cells), len(cols), header(cols))
			}
			for i, c := range cols {
				if c.Name == "Name" && cells[i] != "x" {
					t.Errorf("Name cell = %#v, want \"x\"", cells[i])
				}
			}
		})
	}
}

func TestDefaultCells(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
		want []interface{}
	}{
		{
			name: "role",
			obj:  &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader", CreationTimestamp: metav1.NewTime(time.Date(2025, 5, 30, 8, 15, 0, 0, time.FixedZone("CEST", 2*3600)))}},
			want: []interface{}{"reader", "2025-05-30T06:15:00Z"},
		},
		{
			name: "limitrange",
			obj:  &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "limits", CreationTimestamp: ago(time.Hour)}},
			want: []interface{}{"limits", "2025-06-01T11:00:00Z"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Cells(tc.obj, now)
			if err != nil {
				t.Fatalf("Cells: %v", err)
			}
			if len(got) != len(tc.want) || got[0] != tc.want[0] || got[1] != tc.want[1] {
				t.Errorf("cells %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestCellsErrors(t *testing.T) {
	tests := []struct {
		name string
		obj  runtime.Object
	}{
		{"list", &corev1.PodList{}},
		{"object without metadata", &metav1.Status{}},
		{"controller revision with a bad owner apiVersion", &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{
			Name:            "web-1",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "a/b/c", Kind: "StatefulSet", Name: "web", Controller: boolPtr(true)}},
		}}},
		{"unstructured pod that does not convert", &unstructured.Unstructured{Object: map[string]interface{}{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]interface{}{"name": "p"},
			"spec":     "not an object",
		}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if cells, err := Cells(tc.obj, now); err == nil {
				t.Errorf("Cells = %#v, want an error", cells)
			}
		})
	}
}

func TestTable(t *testing.T) {
	running := corev1.Pod{ObjectMeta: objectMeta("web-1"), Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	done := corev1.Pod{ObjectMeta: objectMeta("job-1"), Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}
	failed := corev1.Pod{ObjectMeta: objectMeta("job-2"), Status: corev1.PodStatus{Phase: corev1.PodFailed}}
	single := running.DeepCopy()
	single.ResourceVersion = "42"

	tests := []struct {
		name          string
		obj           runtime.Object
		noHeaders     bool
		wantColumns   int
		wantFirstCol  string
		wantNames     []string
		wantCompleted []string // reason of each row's Completed condition, "" for none
		wantRV        string
		wantContinue  string
	}{
		{
			name:          "pod list",
			obj:           &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "7", Continue: "next"}, Items: []corev1.Pod{running, done, failed}},
			wantColumns:   9,
			wantFirstCol:  "Name",
			wantNames:     []string{"web-1", "job-1", "job-2"},
			wantCompleted: []string{"", "Succeeded", "Failed"},
			wantRV:        "7",
			wantContinue:  "next",
		},
		{
			name:         "empty list still has its kind's columns",
			obj:          &appsv1.DeploymentList{ListMeta: metav1.ListMeta{ResourceVersion: "9"}},
			wantColumns:  8,
			wantFirstCol: "Name",
			wantRV:       "9",
		},
		{
			name:         "empty event list leads with Last Seen",
			obj:          &corev1.EventList{},
			wantColumns:  10,
			wantFirstCol: "Last Seen",
		},
		{
			name:          "single object",
			obj:           single,
			wantColumns:   9,
			wantFirstCol:  "Name",
			wantNames:     []string{"web-1"},
			wantCompleted: []string{""},
			wantRV:        "42",
		},
		{
			name:          "no headers",
			obj:           &corev1.PodList{Items: []corev1.Pod{running}},
			noHeaders:     true,
			wantNames:     []string{"web-1"},
			wantCompleted: []string{""},
		},
		{
			name:         "list of a kind without printer",
			obj:          &rbacv1.RoleList{Items: []rbacv1.Role{{ObjectMeta: objectMeta("reader")}}},
			wantColumns:  2,
			wantFirstCol: "Name",
			wantNames:    []string{"reader"},
		},
		{
			name: "unstructured list of pods",
			obj: &unstructured.UnstructuredList{Items: []unstructured.Unstructured{{Object: map[string]interface{}{
				"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]interface{}{"name": "job-1", "creationTimestamp": "2025-06-01T11:50:00Z"},
				"status":   map[string]interface{}{"phase": "Succeeded"},
			}}}},
			wantColumns:   9,
			wantFirstCol:  "Name",
			wantNames:     []string{"job-1"},
			wantCompleted: []string{"Succeeded"},
		},
		{
			name: "unstructured custom resource",
			obj: &unstructured.Unstructured{Object: map[string]interface{}{
				"apiVersion": "example.com/v1", "kind": "Widget",
				"metadata": map[string]interface{}{"name": "w", "creationTimestamp": "2025-06-01T11:50:00Z"},
			}},
			wantColumns:  2,
			wantFirstCol: "Name",
			wantNames:    []string{"w"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table, err := Table(tc.obj, now, tc.noHeaders)
			if err != nil {
				t.Fatalf("Table: %v", err)
			}
			if len(table.ColumnDefinitions) != tc.wantColumns {
				t.Errorf("%d columns %q, want %d", len(table.ColumnDefinitions), header(table.ColumnDefinitions), tc.wantColumns)
			}
			if tc.wantFirstCol != "" && len(table.ColumnDefinitions) > 0 && table.ColumnDefinitions[0].Name != tc.wantFirstCol {
				t.Errorf("first column %q, want %q", table.ColumnDefinitions[0].Name, tc.wantFirstCol)
			}
			if len(table.Rows) != len(tc.wantNames) {
				t.Fatalf("%d rows, want %d", len(table.Rows), len(tc.wantNames))
			}
			for i, r := range table.Rows {
				if r.Cells[0] != tc.wantNames[i] {
					t.Errorf("row %d name %#v, want %q", i, r.Cells[0], tc.wantNames[i])
				}
				if r.Object.Object == nil {
					t.Errorf("row %d carries no object", i)
				}
				if tc.wantCompleted != nil {
					reason := ""
					for _, c := range r.Conditions {
						if c.Type == metav1.RowCompleted && c.Status == metav1.ConditionTrue {
							reason = c.Reason
						}
					}
					if reason != tc.wantCompleted[i] {
						t.Errorf("row %d completed reason %q, want %q", i, reason, tc.wantCompleted[i])
					}
				}
			}
			if table.ResourceVersion != tc.wantRV || table.Continue != tc.wantContinue {
				t.Errorf("resourceVersion %q continue %q, want %q %q", table.ResourceVersion, table.Continue, tc.wantRV, tc.wantContinue)
			}
		})
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		name    string
		created metav1.Time
		want    string
	}{
		{"unset", metav1.Time{}, "<unknown>"},
		{"seconds", ago(45 * time.Second), "45s"},
		{"minutes and seconds", ago(5*time.Minute + 30*time.Second), "5m30s"},
		{"minutes", ago(42 * time.Minute), "42m"},
		{"hours and minutes", ago(3*time.Hour + 10*time.Minute), "3h10m"},
		{"hours", ago(25 * time.Hour), "25h"},
		{"days and hours", ago(3*24*time.Hour + 4*time.Hour), "3d4h"},
		{"days", ago(40 * 24 * time.Hour), "40d"},
		{"years", ago(3 * 365 * 24 * time.Hour), "3y"},
		{"slightly in the future", metav1.NewTime(now.Add(500 * time.Millisecond)), "0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", CreationTimestamp: tc.created}}
			assertCells(t, row(t, ns), map[string]interface{}{"AGE": tc.want})
		})
	}
}

func boolPtr(b bool) *bool { return &b }

func int32Ptr(i int32) *int32 { return &i }

func stringPtr(s string) *string { return &s }

func TestUnstructuredObjectsRenderLikeTypedOnes(t *testing.T) {
	tests := []struct {
		name string
		obj  map[string]interface{}
		want map[string]interface{}
	}{
		{
			name: "pod",
			obj: map[string]interface{}{
				"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]interface{}{"name": "web-1", "creationTimestamp": "2025-06-01T11:55:00Z"},
				"spec":     map[string]interface{}{"nodeName": "node-a", "containers": []interface{}{map[string]interface{}{"name": "app"}}},
				"status": map[string]interface{}{"phase": "Running", "containerStatuses": []interface{}{
					map[string]interface{}{"name": "app", "ready": true, "restartCount": int64(0), "state": map[string]interface{}{"running": map[string]interface{}{}}},
				}},
			},
			want: map[string]interface{}{"NAME": "web-1", "READY": "1/1", "STATUS": "Running", "AGE": "5m", "NODE": "node-a"},
		},
		{
			name: "deployment",
			obj: map[string]interface{}{
				"apiVersion": "apps/v1", "kind": "Deployment",
				"metadata": map[string]interface{}{"name": "web"},
				"spec":     map[string]interface{}{"replicas": int64(3)},
				"status":   map[string]interface{}{"readyReplicas": int64(2), "updatedReplicas": int64(3)},
			},
			want: map[string]interface{}{"READY": "2/3", "UP-TO-DATE": int64(3), "AVAILABLE": int64(0), "AGE": "<unknown>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, &unstructured.Unstructured{Object: tc.obj}), tc.want)
		})
	}
}
