package openapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/openapi3"
	"k8s.io/client-go/rest"
	"k8s.io/kube-openapi/pkg/spec3"
	protomodels "k8s.io/kube-openapi/pkg/util/proto"
	protovalidation "k8s.io/kube-openapi/pkg/util/proto/validation"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

var (
	coreGV = schema.GroupVersion{Version: "v1"}
	appsGV = appsv1.SchemeGroupVersion
)

func testResources() []Resource {
	return []Resource{
		{GroupVersion: coreGV, Plural: "pods", Kind: "Pod", Namespaced: true, Object: &corev1.Pod{}, List: &corev1.PodList{},
			Subresources: []string{"status", "binding", "eviction", "log", "exec", "attach", "portforward", "proxy"}},
		{GroupVersion: coreGV, Plural: "services", Kind: "Service", Namespaced: true, Object: &corev1.Service{}, List: &corev1.ServiceList{},
			Subresources: []string{"status", "proxy"}},
		{GroupVersion: coreGV, Plural: "namespaces", Kind: "Namespace", Object: &corev1.Namespace{}, List: &corev1.NamespaceList{},
			Subresources: []string{"status", "finalize"}},
		{GroupVersion: coreGV, Plural: "events", Kind: "Event", Namespaced: true, Object: &corev1.Event{}, List: &corev1.EventList{}},
		{GroupVersion: appsGV, Plural: "deployments", Kind: "Deployment", Namespaced: true, Object: &appsv1.Deployment{}, List: &appsv1.DeploymentList{},
			Subresources: []string{"status", "scale"}},
	}
}

// newServer serves the documents of testResources the way the apiserver mounts them.
func newServer(t *testing.T) (*httptest.Server, *Documents) {
	t.Helper()
	docs, err := New(testResources(), "v1.34.0-navarch")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(docs)
	t.Cleanup(srv.Close)
	return srv, docs
}

func discoveryClient(t *testing.T, srv *httptest.Server) *discovery.DiscoveryClient {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	return dc
}

func get(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestV3DiscoveryListsGroupVersionsWithHashURLs(t *testing.T) {
	srv, _ := newServer(t)
	resp := get(t, srv.URL+"/openapi/v3", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var disco struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&disco); err != nil {
		t.Fatalf("decode discovery: %v", err)
	}
	tests := []struct {
		name string
		key  string
	}{
		{name: "core", key: "api/v1"},
		{name: "apps", key: "apis/apps/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gv, ok := disco.Paths[tt.key]
			if !ok {
				t.Fatalf("discovery has no %q: %v", tt.key, disco.Paths)
			}
			want := regexp.MustCompile(`^/openapi/v3/` + regexp.QuoteMeta(tt.key) + `\?hash=[0-9A-F]{128}$`)
			if !want.MatchString(gv.ServerRelativeURL) {
				t.Errorf("serverRelativeURL = %q, want %s", gv.ServerRelativeURL, want)
			}
			doc := get(t, srv.URL+gv.ServerRelativeURL, nil)
			if doc.StatusCode != http.StatusOK {
				t.Errorf("GET %s: status %d", gv.ServerRelativeURL, doc.StatusCode)
			}
			if cc := doc.Header.Get("Cache-Control"); cc != "public, immutable" {
				t.Errorf("Cache-Control = %q, want public, immutable", cc)
			}
		})
	}
	if len(disco.Paths) != 2 {
		t.Errorf("discovery lists %d group versions, want 2: %v", len(disco.Paths), disco.Paths)
	}
}

// TestV3ThroughClientGo loads the group version documents with client-go's
// openapi3 root, as kubectl explain and kubectl's field validation check do.
func TestV3ThroughClientGo(t *testing.T) {
	srv, _ := newServer(t)
	root := openapi3.NewRoot(discoveryClient(t, srv).OpenAPIV3())

	gvs, err := root.GroupVersions()
	if err != nil {
		t.Fatalf("GroupVersions: %v", err)
	}
	if want := []schema.GroupVersion{appsGV, coreGV}; !reflect.DeepEqual(gvs, want) {
		t.Errorf("GroupVersions = %v, want %v", gvs, want)
	}

	tests := []struct {
		name       string
		gvk        schema.GroupVersionKind
		definition string
		doc        map[string]string // the Go type's SwaggerDoc
		refs       map[string]string // property -> referenced definition
		patchPath  string
	}{
		{
			name:       "pod",
			gvk:        coreGV.WithKind("Pod"),
			definition: "io.k8s.api.core.v1.Pod",
			doc:        corev1.Pod{}.SwaggerDoc(),
			refs: map[string]string{
				"metadata": "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
				"spec":     "io.k8s.api.core.v1.PodSpec",
				"status":   "io.k8s.api.core.v1.PodStatus",
			},
			patchPath: "/api/v1/namespaces/{namespace}/pods/{name}",
		},
		{
			name:       "service",
			gvk:        coreGV.WithKind("Service"),
			definition: "io.k8s.api.core.v1.Service",
			doc:        corev1.Service{}.SwaggerDoc(),
			refs: map[string]string{
				"spec":   "io.k8s.api.core.v1.ServiceSpec",
				"status": "io.k8s.api.core.v1.ServiceStatus",
			},
			patchPath: "/api/v1/namespaces/{namespace}/services/{name}",
		},
		{
			name:       "deployment",
			gvk:        appsGV.WithKind("Deployment"),
			definition: "io.k8s.api.apps.v1.Deployment",
			doc:        appsv1.Deployment{}.SwaggerDoc(),
			refs: map[string]string{
				"metadata": "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
				"spec":     "io.k8s.api.apps.v1.DeploymentSpec",
			},
			patchPath: "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := root.GVSpec(tt.gvk.GroupVersion())
			if err != nil {
				t.Fatalf("GVSpec: %v", err)
			}
			def, ok := doc.Components.Schemas[tt.definition]
			if !ok {
				t.Fatalf("no schema %s", tt.definition)
			}
			var gvks []map[string]string
			if err := def.Extensions.GetObject(extGVK, &gvks); err != nil {
				t.Fatalf("%s extension: %v", extGVK, err)
			}
			want := map[string]string{"group": tt.gvk.Group, "version": tt.gvk.Version, "kind": tt.gvk.Kind}
			if !slices.ContainsFunc(gvks, func(m map[string]string) bool { return reflect.DeepEqual(m, want) }) {
				t.Errorf("%s = %v, want it to contain %v", extGVK, gvks, want)
			}
			if def.Description != tt.doc[""] || def.Description == "" {
				t.Errorf("description = %q, want %q", def.Description, tt.doc[""])
			}
			for prop, target := range tt.refs {
				p, ok := def.Properties[prop]
				if !ok {
					t.Errorf("no property %s", prop)
					continue
				}
				if len(p.AllOf) != 1 || p.AllOf[0].Ref.String() != "#/components/schemas/"+target {
					t.Errorf("property %s = %+v, want allOf $ref to %s", prop, p.SchemaProps, target)
				}
				if p.Description != tt.doc[prop] {
					t.Errorf("property %s description = %q, want %q", prop, p.Description, tt.doc[prop])
				}
				if _, ok := doc.Components.Schemas[target]; !ok {
					t.Errorf("referenced schema %s missing from the document", target)
				}
			}
			// kubectl decides that the server validates fields when the PATCH
			// operation of the kind lists the fieldValidation parameter.
			if !supportsQueryParam(doc, tt.gvk, "fieldValidation") {
				t.Errorf("no PATCH operation for %v takes fieldValidation", tt.gvk)
			}
			item, ok := doc.Paths.Paths[tt.patchPath]
			if !ok || item.Patch == nil {
				t.Fatalf("no PATCH at %s", tt.patchPath)
			}
			if action, _ := item.Patch.Extensions.GetString(extAction); action != "patch" {
				t.Errorf("%s on PATCH = %q, want patch", extAction, action)
			}
		})
	}
}

// supportsQueryParam reports whether every PATCH operation of gvk in doc takes
// the query parameter; kubectl checks whichever such operation it meets first.
func supportsQueryParam(doc *spec3.OpenAPI, gvk schema.GroupVersionKind, name string) bool {
	found := false
	for _, item := range doc.Paths.Paths {
		op := item.Patch
		if op == nil {
			continue
		}
		var opGVK map[string]string
		if err := op.Extensions.GetObject(extGVK, &opGVK); err != nil {
			continue
		}
		if opGVK["group"] != gvk.Group || opGVK["version"] != gvk.Version || opGVK["kind"] != gvk.Kind {
			continue
		}
		found = true
		if !slices.ContainsFunc(op.Parameters, func(p *spec3.Parameter) bool { return p.Name == name && p.In == "query" }) {
			return false
		}
	}
	return found
}

// TestV3ExplainWalk follows a field path through the group version document as
// kubectl explain's template does: the GVK from the resource's path operations,
// the schema carrying that GVK, then properties through $ref, allOf and items.
func TestV3ExplainWalk(t *testing.T) {
	srv, _ := newServer(t)
	root := openapi3.NewRoot(discoveryClient(t, srv).OpenAPIV3())
	tests := []struct {
		name      string
		gvr       schema.GroupVersionResource
		fieldPath []string
		wantDoc   string
		wantField string // a field of the schema the path ends at
		required  bool   // whether wantField is required there
	}{
		{name: "pod containers", gvr: coreGV.WithResource("pods"), fieldPath: []string{"spec", "containers"},
			wantDoc: corev1.PodSpec{}.SwaggerDoc()["containers"], wantField: "name", required: true},
		{name: "pod container image", gvr: coreGV.WithResource("pods"), fieldPath: []string{"spec", "containers", "resources"},
			wantDoc: corev1.Container{}.SwaggerDoc()["resources"], wantField: "limits"},
		{name: "deployment template containers", gvr: appsGV.WithResource("deployments"), fieldPath: []string{"spec", "template", "spec", "containers"},
			wantDoc: corev1.PodSpec{}.SwaggerDoc()["containers"], wantField: "image"},
		{name: "service ports", gvr: coreGV.WithResource("services"), fieldPath: []string{"spec", "ports"},
			wantDoc: corev1.ServiceSpec{}.SwaggerDoc()["ports"], wantField: "port", required: true},
		{name: "namespace metadata labels", gvr: coreGV.WithResource("namespaces"), fieldPath: []string{"metadata"},
			wantDoc: corev1.Namespace{}.SwaggerDoc()["metadata"], wantField: "labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := root.GVSpecAsMap(tt.gvr.GroupVersion())
			if err != nil {
				t.Fatalf("GVSpecAsMap: %v", err)
			}
			gvk := explainGVK(doc, tt.gvr)
			if gvk == nil {
				t.Fatalf("no operation of %v carries %s", tt.gvr, extGVK)
			}
			var s map[string]any
			for _, candidate := range dig(doc, "components", "schemas").(map[string]any) {
				list, _ := candidate.(map[string]any)[extGVK].([]any)
				if slices.ContainsFunc(list, func(v any) bool { return reflect.DeepEqual(v, gvk) }) {
					s = candidate.(map[string]any)
					break
				}
			}
			if s == nil {
				t.Fatalf("no schema with %s %v", extGVK, gvk)
			}
			var field map[string]any
			for _, name := range tt.fieldPath {
				s = resolve(doc, s)
				props, _ := s["properties"].(map[string]any)
				field, _ = props[name].(map[string]any)
				if field == nil {
					t.Fatalf("field %s not found", name)
				}
				s = field
			}
			if got := field["description"]; got != tt.wantDoc {
				t.Errorf("description = %q, want %q", got, tt.wantDoc)
			}
			end := resolve(doc, field)
			if _, ok := dig(end, "properties").(map[string]any)[tt.wantField]; !ok {
				t.Errorf("field %s not among %v", tt.wantField, dig(end, "properties"))
			}
			req, _ := end["required"].([]any)
			if got := slices.Contains(req, any(tt.wantField)); got != tt.required {
				t.Errorf("%s required = %v, want %v (required: %v)", tt.wantField, got, tt.required, req)
			}
		})
	}
}

// explainGVK finds the GVK of a resource from its collection or item paths.
func explainGVK(doc map[string]any, gvr schema.GroupVersionResource) any {
	prefix := "/apis/" + gvr.Group
	if gvr.Group == "" {
		prefix = "/api"
	}
	for _, p := range []string{
		prefix + "/" + gvr.Version + "/" + gvr.Resource,
		prefix + "/" + gvr.Version + "/" + gvr.Resource + "/{name}",
		prefix + "/" + gvr.Version + "/namespaces/{namespace}/" + gvr.Resource,
	} {
		for _, m := range []string{"get", "post", "put", "patch", "delete"} {
			if gvk := dig(doc, "paths", p, m, extGVK); gvk != nil {
				return gvk
			}
		}
	}
	return nil
}

// resolve follows $ref, a single allOf and array items to the schema with the fields.
func resolve(doc, s map[string]any) map[string]any {
	for {
		switch {
		case s["$ref"] != nil:
			name := strings.TrimPrefix(s["$ref"].(string), "#/components/schemas/")
			s = dig(doc, "components", "schemas", name).(map[string]any)
		case s["allOf"] != nil:
			s = s["allOf"].([]any)[0].(map[string]any)
		case s["items"] != nil:
			s = s["items"].(map[string]any)
		default:
			return s
		}
	}
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// TestV2AsJSON checks the Swagger 2.0 JSON form.
func TestV2AsJSON(t *testing.T) {
	srv, _ := newServer(t)
	resp := get(t, srv.URL+"/openapi/v2", map[string]string{"Accept": "application/json"})
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var sw spec.Swagger
	if err := json.NewDecoder(resp.Body).Decode(&sw); err != nil {
		t.Fatalf("decode swagger: %v", err)
	}
	if sw.Swagger != "2.0" {
		t.Errorf("swagger = %q, want 2.0", sw.Swagger)
	}
	tests := []struct {
		name       string
		definition string
		path       string
		method     string
		gvk        schema.GroupVersionKind
	}{
		{name: "pod", definition: "io.k8s.api.core.v1.Pod", path: "/api/v1/namespaces/{namespace}/pods", method: "post", gvk: coreGV.WithKind("Pod")},
		{name: "pod list", definition: "io.k8s.api.core.v1.PodList", path: "/api/v1/pods", method: "get", gvk: coreGV.WithKind("Pod")},
		{name: "deployment scale", definition: "io.k8s.api.autoscaling.v1.Scale", path: "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", method: "put",
			gvk: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}},
		{name: "status", definition: "io.k8s.apimachinery.pkg.apis.meta.v1.Status", path: "/api/v1/namespaces/{name}", method: "delete", gvk: coreGV.WithKind("Namespace")},
		{name: "delete options", definition: "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", path: "/apis/apps/v1/namespaces/{namespace}/deployments", method: "delete", gvk: appsGV.WithKind("Deployment")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := sw.Definitions[tt.definition]; !ok {
				t.Errorf("no definition %s", tt.definition)
			}
			item, ok := sw.Paths.Paths[tt.path]
			if !ok {
				t.Fatalf("no path %s", tt.path)
			}
			op := map[string]*spec.Operation{"get": item.Get, "post": item.Post, "put": item.Put, "delete": item.Delete}[tt.method]
			if op == nil {
				t.Fatalf("no %s at %s", tt.method, tt.path)
			}
			var gvk map[string]string
			if err := op.Extensions.GetObject(extGVK, &gvk); err != nil {
				t.Fatal(err)
			}
			if gvk["group"] != tt.gvk.Group || gvk["version"] != tt.gvk.Version || gvk["kind"] != tt.gvk.Kind {
				t.Errorf("operation GVK = %v, want %v", gvk, tt.gvk)
			}
		})
	}
}

// TestV2AsProtobuf loads /openapi/v2 as client-go's discovery does and walks it
// with kube-openapi's proto models, the path of kubectl's client-side
// validation and strategic-merge apply.
func TestV2AsProtobuf(t *testing.T) {
	srv, _ := newServer(t)
	doc, err := discoveryClient(t, srv).OpenAPISchema()
	if err != nil {
		t.Fatalf("OpenAPISchema: %v", err)
	}
	if doc.GetSwagger() != "2.0" {
		t.Errorf("swagger = %q", doc.GetSwagger())
	}
	models, err := protomodels.NewOpenAPIData(doc)
	if err != nil {
		t.Fatalf("NewOpenAPIData: %v", err)
	}

	t.Run("kind index", func(t *testing.T) {
		for _, gvk := range []schema.GroupVersionKind{coreGV.WithKind("Pod"), coreGV.WithKind("Service"), appsGV.WithKind("Deployment")} {
			if name := modelForGVK(models, gvk); name == "" {
				t.Errorf("no model carries %v", gvk)
			}
		}
	})

	t.Run("pod spec.containers", func(t *testing.T) {
		pod := kindOf(t, models.LookupModel(modelForGVK(models, coreGV.WithKind("Pod"))))
		spec := kindOf(t, pod.Fields["spec"])
		containers, ok := spec.Fields["containers"].(*protomodels.Array)
		if !ok {
			t.Fatalf("containers is %T, want array", spec.Fields["containers"])
		}
		ext := containers.GetExtensions()
		if ext[extPatchMergeKey] != "name" || ext[extPatchStrategy] != "merge" {
			t.Errorf("containers extensions = %v, want patch merge key name, strategy merge", ext)
		}
		container := kindOf(t, containers.SubType)
		if !slices.Contains(container.RequiredFields, "name") {
			t.Errorf("container required = %v, want name", container.RequiredFields)
		}
		if _, ok := container.Fields["image"]; !ok {
			t.Errorf("container has no image field")
		}
	})

	tests := []struct {
		name    string
		gvk     schema.GroupVersionKind
		obj     map[string]any
		wantErr bool
	}{
		{name: "valid pod", gvk: coreGV.WithKind("Pod"), obj: map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": "p", "labels": map[string]any{"app": "x"}},
			"spec": map[string]any{"containers": []any{map[string]any{
				"name": "c", "image": "busybox",
				"ports":     []any{map[string]any{"containerPort": int64(80)}},
				"resources": map[string]any{"limits": map[string]any{"cpu": "500m"}},
			}}},
		}},
		{name: "unknown field", gvk: coreGV.WithKind("Pod"), wantErr: true, obj: map[string]any{
			"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "imagee": "busybox"}}},
		}},
		{name: "missing required container name", gvk: coreGV.WithKind("Pod"), wantErr: true, obj: map[string]any{
			"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p"},
			"spec": map[string]any{"containers": []any{map[string]any{"image": "busybox"}}},
		}},
		{name: "wrong type", gvk: appsGV.WithKind("Deployment"), wantErr: true, obj: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d"},
			"spec": map[string]any{"replicas": "three"},
		}},
		{name: "valid service", gvk: coreGV.WithKind("Service"), obj: map[string]any{
			"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "s"},
			"spec": map[string]any{"ports": []any{map[string]any{"port": int64(80), "targetPort": "http"}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := models.LookupModel(modelForGVK(models, tt.gvk))
			if model == nil {
				t.Fatalf("no model for %v", tt.gvk)
			}
			errs := protovalidation.ValidateModel(tt.obj, model, tt.gvk.Kind)
			if (len(errs) > 0) != tt.wantErr {
				t.Errorf("ValidateModel errors = %v, wantErr %v", errs, tt.wantErr)
			}
		})
	}
}

// modelForGVK finds the model whose x-kubernetes-group-version-kind names gvk,
// reading the extension in the shape kubectl's openapi index reads it.
func modelForGVK(models protomodels.Models, gvk schema.GroupVersionKind) string {
	for _, name := range models.ListModels() {
		list, _ := models.LookupModel(name).GetExtensions()[extGVK].([]any)
		for _, item := range list {
			m, _ := item.(map[any]any)
			if m["group"] == gvk.Group && m["version"] == gvk.Version && m["kind"] == gvk.Kind {
				return name
			}
		}
	}
	return ""
}

func kindOf(t *testing.T, s protomodels.Schema) *protomodels.Kind {
	t.Helper()
	if ref, ok := s.(protomodels.Reference); ok {
		s = ref.SubSchema()
	}
	k, ok := s.(*protomodels.Kind)
	if !ok {
		t.Fatalf("%v is %T, want an object kind", s, s)
	}
	return k
}

// TestServeHTTP checks what plain HTTP clients see: negotiation, caching and errors.
func TestServeHTTP(t *testing.T) {
	srv, docs := newServer(t)
	coreHash := docs.v3["api/v1"].etag
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		wantCode   int
		wantType   string
		wantHeader map[string]string
		wantReason metav1.StatusReason
		checkBody  func(t *testing.T, body []byte)
	}{
		{name: "v2 json by default", path: "/openapi/v2", wantCode: http.StatusOK, wantType: "application/json"},
		{name: "v2 protobuf", path: "/openapi/v2",
			header:   map[string]string{"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"},
			wantCode: http.StatusOK, wantType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
			checkBody: func(t *testing.T, body []byte) {
				var doc openapi_v2.Document
				if err := proto.Unmarshal(body, &doc); err != nil {
					t.Fatalf("unmarshal v2 protobuf: %v", err)
				}
				if doc.GetDefinitions() == nil || len(doc.GetPaths().GetPath()) == 0 {
					t.Errorf("protobuf document has no definitions or paths")
				}
			}},
		{name: "v2 preference order", path: "/openapi/v2",
			header:   map[string]string{"Accept": "application/json;q=0.5, application/com.github.proto-openapi.spec.v2.v1.0+protobuf"},
			wantCode: http.StatusOK, wantType: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"},
		{name: "v3 group version protobuf", path: "/openapi/v3/api/v1",
			header:   map[string]string{"Accept": "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"},
			wantCode: http.StatusOK, wantType: "application/com.github.proto-openapi.spec.v3.v1.0+protobuf",
			checkBody: func(t *testing.T, body []byte) {
				var doc openapi_v3.Document
				if err := proto.Unmarshal(body, &doc); err != nil {
					t.Fatalf("unmarshal v3 protobuf: %v", err)
				}
				if doc.GetOpenapi() != "3.0.0" {
					t.Errorf("openapi = %q", doc.GetOpenapi())
				}
			}},
		{name: "v3 without hash is not immutable", path: "/openapi/v3/apis/apps/v1", wantCode: http.StatusOK, wantType: "application/json",
			wantHeader: map[string]string{"Cache-Control": ""}},
		{name: "v3 current hash is immutable", path: "/openapi/v3/api/v1?hash=" + coreHash, wantCode: http.StatusOK, wantType: "application/json",
			wantHeader: map[string]string{"Cache-Control": "public, immutable", "Etag": `"` + coreHash + `"`}},
		{name: "v3 stale hash redirects", path: "/openapi/v3/api/v1?hash=0123", wantCode: http.StatusMovedPermanently,
			wantHeader: map[string]string{"Location": "/openapi/v3/api/v1?hash=" + coreHash}},
		{name: "etag matches", path: "/openapi/v3/api/v1", header: map[string]string{"If-None-Match": `"` + coreHash + `"`},
			wantCode: http.StatusNotModified},
		{name: "etag differs", path: "/openapi/v3/api/v1", header: map[string]string{"If-None-Match": `"abc"`},
			wantCode: http.StatusOK, wantType: "application/json"},
		{name: "unknown group version", path: "/openapi/v3/apis/batch/v1", wantCode: http.StatusNotFound, wantReason: metav1.StatusReasonNotFound},
		{name: "unknown path", path: "/openapi/v4", wantCode: http.StatusNotFound, wantReason: metav1.StatusReasonNotFound},
		{name: "not acceptable", path: "/openapi/v2", header: map[string]string{"Accept": "text/html"},
			wantCode: http.StatusNotAcceptable, wantReason: metav1.StatusReasonNotAcceptable},
		{name: "method not allowed", method: http.MethodPost, path: "/openapi/v2", wantCode: http.StatusMethodNotAllowed,
			wantReason: metav1.StatusReasonMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequest(method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.wantCode, body)
			}
			if tt.wantType != "" && resp.Header.Get("Content-Type") != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", resp.Header.Get("Content-Type"), tt.wantType)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tt.wantReason != "" {
				var status metav1.Status
				if err := json.Unmarshal(body, &status); err != nil {
					t.Fatalf("decode Status: %v: %s", err, body)
				}
				if status.Kind != "Status" || status.Reason != tt.wantReason || status.Code != int32(tt.wantCode) {
					t.Errorf("Status = %+v, want reason %s code %d", status, tt.wantReason, tt.wantCode)
				}
			}
			if tt.checkBody != nil {
				tt.checkBody(t, body)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	pod := testResources()[0]
	tests := []struct {
		name      string
		resources []Resource
	}{
		{name: "missing list", resources: []Resource{{GroupVersion: coreGV, Plural: "pods", Kind: "Pod", Object: &corev1.Pod{}}}},
		{name: "missing kind", resources: []Resource{{GroupVersion: coreGV, Plural: "pods", Object: &corev1.Pod{}, List: &corev1.PodList{}}}},
		{name: "same path twice", resources: []Resource{pod, pod}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.resources, "v1"); err == nil {
				t.Errorf("New succeeded, want an error")
			}
		})
	}
}

// TestSchemaShapes checks the special wire forms of apimachinery types.
func TestSchemaShapes(t *testing.T) {
	_, docs := newServer(t)
	var v2 spec.Swagger
	if err := json.Unmarshal(docs.v2.json, &v2); err != nil {
		t.Fatal(err)
	}
	var v3 spec3.OpenAPI
	if err := json.Unmarshal(docs.v3["api/v1"].json, &v3); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		definition string
		v2Type     string
		v2Format   string
		v3OneOf    []string
	}{
		{name: "time", definition: "io.k8s.apimachinery.pkg.apis.meta.v1.Time", v2Type: "string", v2Format: "date-time"},
		{name: "micro time", definition: "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime", v2Type: "string", v2Format: "date-time"},
		{name: "quantity", definition: "io.k8s.apimachinery.pkg.api.resource.Quantity", v2Type: "string", v3OneOf: []string{"string", "number"}},
		{name: "int or string", definition: "io.k8s.apimachinery.pkg.util.intstr.IntOrString", v2Type: "string", v2Format: "int-or-string", v3OneOf: []string{"integer", "string"}},
		{name: "raw extension", definition: "io.k8s.apimachinery.pkg.runtime.RawExtension", v2Type: "object"},
		{name: "fields v1", definition: "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1", v2Type: "object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d2, ok := v2.Definitions[tt.definition]
			if !ok {
				t.Fatalf("v2 has no %s", tt.definition)
			}
			if !reflect.DeepEqual([]string(d2.Type), []string{tt.v2Type}) || d2.Format != tt.v2Format {
				t.Errorf("v2 %s = type %v format %q, want %s %q", tt.definition, d2.Type, d2.Format, tt.v2Type, tt.v2Format)
			}
			if d2.Description == "" {
				t.Errorf("v2 %s has no description", tt.definition)
			}
			d3, ok := v3.Components.Schemas[tt.definition]
			if !ok {
				t.Fatalf("v3 has no %s", tt.definition)
			}
			if tt.v3OneOf != nil {
				var got []string
				for _, s := range d3.OneOf {
					got = append(got, s.Type...)
				}
				if !reflect.DeepEqual(got, tt.v3OneOf) || len(d3.Type) != 0 {
					t.Errorf("v3 %s = type %v oneOf %v, want oneOf %v", tt.definition, d3.Type, got, tt.v3OneOf)
				}
			}
		})
	}

	created := v2.Definitions["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"].Properties["creationTimestamp"]
	if created.Ref.String() != "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time" {
		t.Errorf("creationTimestamp = %+v, want a ref to Time", created.SchemaProps)
	}
	nodeSelector := v2.Definitions["io.k8s.api.core.v1.PodSpec"].Properties["nodeSelector"]
	if nodeSelector.AdditionalProperties == nil || !reflect.DeepEqual([]string(nodeSelector.AdditionalProperties.Schema.Type), []string{"string"}) {
		t.Errorf("nodeSelector = %+v, want a map of strings", nodeSelector.SchemaProps)
	}
}

func TestBytesAreBase64Strings(t *testing.T) {
	secrets := Resource{GroupVersion: coreGV, Plural: "secrets", Kind: "Secret", Namespaced: true, Object: &corev1.Secret{}, List: &corev1.SecretList{}}
	docs, err := New([]Resource{secrets}, "v1")
	if err != nil {
		t.Fatal(err)
	}
	var v3 spec3.OpenAPI
	if err := json.Unmarshal(docs.v3["api/v1"].json, &v3); err != nil {
		t.Fatal(err)
	}
	data := v3.Components.Schemas["io.k8s.api.core.v1.Secret"].Properties["data"]
	if data.AdditionalProperties == nil || data.AdditionalProperties.Schema == nil {
		t.Fatalf("data = %+v, want a map", data.SchemaProps)
	}
	values := data.AdditionalProperties.Schema
	if !reflect.DeepEqual([]string(values.Type), []string{"string"}) || values.Format != "byte" {
		t.Errorf("data values = type %v format %q, want string byte", values.Type, values.Format)
	}
}
