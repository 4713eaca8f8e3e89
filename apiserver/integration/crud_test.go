package integration

import (
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// crudCases holds one small valid object of every served resource.
var crudCases = []struct {
	gvr        schema.GroupVersionResource
	namespaced bool
	manifest   string
}{
	{schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false, `{kind: Namespace, apiVersion: v1}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, true, `{kind: Pod, apiVersion: v1, spec: {containers: [{name: c, image: busybox}]}}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "services"}, true, `{kind: Service, apiVersion: v1, spec: {ports: [{port: 80}], selector: {app: x}}}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "endpoints"}, true, `{kind: Endpoints, apiVersion: v1, subsets: [{addresses: [{ip: 10.1.2.3}], ports: [{port: 80}]}]}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, false, `{kind: Node, apiVersion: v1}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true, `{kind: ConfigMap, apiVersion: v1, data: {a: b}}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, true, `{kind: Secret, apiVersion: v1, stringData: {a: b}}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, true, `{kind: ServiceAccount, apiVersion: v1}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "events"}, true, `{kind: Event, apiVersion: v1, involvedObject: {kind: Pod, name: p, namespace: NS}, reason: Test, message: hello, type: Normal, source: {component: test}, firstTimestamp: "2026-01-01T00:00:00Z", lastTimestamp: "2026-01-01T00:00:00Z", count: 1}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "replicationcontrollers"}, true, `{kind: ReplicationController, apiVersion: v1, spec: {replicas: 1, selector: {app: x}, template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: busybox}]}}}}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumes"}, false, `{kind: PersistentVolume, apiVersion: v1, spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /tmp/pv}}}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}, true, `{kind: PersistentVolumeClaim, apiVersion: v1, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "resourcequotas"}, true, `{kind: ResourceQuota, apiVersion: v1, spec: {hard: {pods: "10"}}}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "limitranges"}, true, `{kind: LimitRange, apiVersion: v1, spec: {limits: [{type: Container, default: {cpu: 500m}}]}}`},
	{schema.GroupVersionResource{Version: "v1", Resource: "podtemplates"}, true, `{kind: PodTemplate, apiVersion: v1, template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: busybox}]}}}`},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true, `{kind: Deployment, apiVersion: apps/v1, spec: {selector: {matchLabels: {app: x}}, template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: busybox}]}}}}`},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, true, `{kind: ReplicaSet, apiVersion: apps/v1, spec: {selector: {matchLabels: {app: x}}, template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: busybox}]}}}}`},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, true, `{kind: StatefulSet, apiVersion: apps/v1, spec: {serviceName: s, selector: {matchLabels: {app: x}}, template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: busybox}]}}}}`},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, true, `{kind: DaemonSet, apiVersion: apps/v1, spec: {selector: {matchLabels: {app: x}}, template: {metadata: {labels: {app: x}}, spec: {containers: [{name: c, image: busybox}]}}}}`},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "controllerrevisions"}, true, `{kind: ControllerRevision, apiVersion: apps/v1, revision: 1, data: {spec: {}}}`},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, true, `{kind: Job, apiVersion: batch/v1, spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}}`},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, true, `{kind: CronJob, apiVersion: batch/v1, spec: {schedule: "*/5 * * * *", jobTemplate: {spec: {template: {spec: {restartPolicy: OnFailure, containers: [{name: c, image: busybox}]}}}}}}`},
	{schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}, true, `{kind: Lease, apiVersion: coordination.k8s.io/v1, spec: {holderIdentity: me, leaseDurationSeconds: 15}}`},
	{schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}, true, `{kind: EndpointSlice, apiVersion: discovery.k8s.io/v1, addressType: IPv4, endpoints: [{addresses: [10.1.2.3]}], ports: [{port: 80}]}`},
	{schema.GroupVersionResource{Group: "events.k8s.io", Version: "v1", Resource: "events"}, true, `{kind: Event, apiVersion: events.k8s.io/v1, eventTime: "2026-01-01T00:00:00.000000Z", reportingController: example.com/test, reportingInstance: test-1, action: Testing, reason: Test, type: Normal, regarding: {kind: Pod, name: p, namespace: NS}, note: hello}`},
	{schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}, true, `{kind: PodDisruptionBudget, apiVersion: policy/v1, spec: {minAvailable: 1, selector: {matchLabels: {app: x}}}}`},
	{schema.GroupVersionResource{Group: "autoscaling", Version: "v1", Resource: "horizontalpodautoscalers"}, true, `{kind: HorizontalPodAutoscaler, apiVersion: autoscaling/v1, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: d}, maxReplicas: 3, targetCPUUtilizationPercentage: 50}}`},
	{schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}, true, `{kind: HorizontalPodAutoscaler, apiVersion: autoscaling/v2, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: d}, maxReplicas: 3}}`},
	{schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}, true, `{kind: Ingress, apiVersion: networking.k8s.io/v1, spec: {defaultBackend: {service: {name: s, port: {number: 80}}}}}`},
	{schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingressclasses"}, false, `{kind: IngressClass, apiVersion: networking.k8s.io/v1, spec: {controller: example.com/ingress}}`},
	{schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}, true, `{kind: NetworkPolicy, apiVersion: networking.k8s.io/v1, spec: {podSelector: {}}}`},
	{schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"}, false, `{kind: StorageClass, apiVersion: storage.k8s.io/v1, provisioner: example.com/local}`},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, true, `{kind: Role, apiVersion: rbac.authorization.k8s.io/v1, rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]}`},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, true, `{kind: RoleBinding, apiVersion: rbac.authorization.k8s.io/v1, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}, subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]}`},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, false, `{kind: ClusterRole, apiVersion: rbac.authorization.k8s.io/v1, rules: [{apiGroups: [""], resources: [pods], verbs: [list]}]}`},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, false, `{kind: ClusterRoleBinding, apiVersion: rbac.authorization.k8s.io/v1, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}, subjects: [{kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}]}`},
}

func TestCRUDEveryResource(t *testing.T) {
	ctx := testContext(t)
	dyn := dynamic.NewForConfigOrDie(shared.Config)
	ns := newNamespace(t, shared.Client)
	for i, tc := range crudCases {
		t.Run(tc.gvr.Group+"/"+tc.gvr.Version+"/"+tc.gvr.Resource, func(t *testing.T) {
			var obj map[string]any
			manifest := []byte(tc.manifest)
			if err := yaml.Unmarshal(manifest, &obj); err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{Object: obj}
			name := fmt.Sprintf("crud-%d", i)
			u.SetName(name)
			fixNamespaces(u.Object, ns)
			var ri dynamic.ResourceInterface = dyn.Resource(tc.gvr)
			if tc.namespaced {
				ri = dyn.Resource(tc.gvr).Namespace(ns)
			}
			created, err := ri.Create(ctx, u, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if created.GetUID() == "" || created.GetResourceVersion() == "" {
				t.Fatalf("created object lacks uid or resourceVersion: %v", created.Object["metadata"])
			}
			got, err := ri.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			got.SetLabels(map[string]string{"updated": "yes"})
			updated, err := ri.Update(ctx, got, metav1.UpdateOptions{})
			if err != nil {
				t.Fatalf("update: %v", err)
			}
			if updated.GetLabels()["updated"] != "yes" || updated.GetResourceVersion() == got.GetResourceVersion() {
				t.Fatalf("update not stored: labels %v rv %s", updated.GetLabels(), updated.GetResourceVersion())
			}
			list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: "updated=yes"})
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			if len(list.Items) != 1 || list.Items[0].GetName() != name {
				t.Fatalf("list by label found %d items", len(list.Items))
			}
			if err := ri.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if tc.gvr.Resource == "namespaces" {
				// A namespace stays Terminating until the namespace controller empties it.
				return
			}
			if _, err := ri.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Fatalf("get after delete: want 404, got %v", err)
			}
		})
	}
}

// fixNamespaces points object references written as NS at the test namespace.
func fixNamespaces(v any, ns string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && s == "NS" {
				x[k] = ns
				continue
			}
			fixNamespaces(val, ns)
		}
	case []any:
		for _, val := range x {
			fixNamespaces(val, ns)
		}
	}
}
