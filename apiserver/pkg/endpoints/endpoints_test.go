package endpoints

import (
	"net/http"
	"testing"
)

func TestParseRequestInfo(t *testing.T) {
	tests := []struct {
		name, method, path string
		watch              bool
		want               RequestInfo
	}{
		{name: "core list", method: "GET", path: "/api/v1/namespaces/ns/pods", want: RequestInfo{Resource: "pods", Namespace: "ns", Verb: "list"}},
		{name: "cluster-wide watch", method: "GET", path: "/api/v1/pods", watch: true, want: RequestInfo{Resource: "pods", Verb: "watch"}},
		{name: "group get", method: "GET", path: "/apis/apps/v1/namespaces/ns/deployments/web", want: RequestInfo{Resource: "deployments", Namespace: "ns", Name: "web", Verb: "get"}},
		{name: "scale patch", method: "PATCH", path: "/apis/apps/v1/namespaces/ns/deployments/web/scale", want: RequestInfo{Resource: "deployments", Namespace: "ns", Name: "web", Subresource: "scale", Verb: "patch"}},
		{name: "namespace get", method: "GET", path: "/api/v1/namespaces/kube-system", want: RequestInfo{Resource: "namespaces", Name: "kube-system", Verb: "get"}},
		{name: "namespace status", method: "PUT", path: "/api/v1/namespaces/ns/status", want: RequestInfo{Resource: "namespaces", Name: "ns", Subresource: "status", Verb: "update"}},
		{name: "namespace finalize", method: "PUT", path: "/api/v1/namespaces/ns/finalize", want: RequestInfo{Resource: "namespaces", Name: "ns", Subresource: "finalize", Verb: "update"}},
		{name: "delete collection", method: "DELETE", path: "/api/v1/namespaces/ns/configmaps", want: RequestInfo{Resource: "configmaps", Namespace: "ns", Verb: "deletecollection"}},
		{name: "binding", method: "POST", path: "/api/v1/namespaces/ns/pods/p/binding", want: RequestInfo{Resource: "pods", Namespace: "ns", Name: "p", Subresource: "binding", Verb: "create"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ri, ok, err := ParseRequestInfo(tc.method, tc.path, tc.watch)
			if !ok || err != nil {
				t.Fatalf("ok=%v err=%v", ok, err)
			}
			got := *ri
			got.GroupVersion = tc.want.GroupVersion
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, ok, _ := ParseRequestInfo("GET", "/apis", false); ok {
		t.Fatal("/apis is discovery, not a resource path")
	}
}

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name      string
		accept    string
		want      output
		wantProto bool
		wantOK    bool
	}{
		{name: "none", accept: "", want: outputObject, wantOK: true},
		{name: "json", accept: "application/json", want: outputObject, wantOK: true},
		{name: "client-go typed", accept: "application/vnd.kubernetes.protobuf,application/json", want: outputObject, wantProto: true, wantOK: true},
		{name: "kubectl table", accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", want: outputTable, wantOK: true},
		{name: "table in protobuf falls back", accept: "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json", want: outputObject, wantOK: true},
		{name: "metadata", accept: "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1", want: outputMetadata, wantProto: true, wantOK: true},
		{name: "unsupported", accept: "text/html", wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.Header.Set("Accept", tc.accept)
			out, proto, ok := negotiate(r)
			if ok != tc.wantOK || (ok && (out != tc.want || proto != tc.wantProto)) {
				t.Fatalf("got (%v, proto=%v, ok=%v), want (%v, proto=%v, ok=%v)", out, proto, ok, tc.want, tc.wantProto, tc.wantOK)
			}
		})
	}
}

func TestVersionOrder(t *testing.T) {
	// Kubernetes version priority: stable above beta above alpha, then by number.
	ordered := []string{"v1alpha1", "v2alpha1", "v1beta1", "v1beta2", "v1", "v2"}
	for i := range ordered {
		for j := range ordered {
			if got := versionLess(ordered[i], ordered[j]); got != (i < j) {
				t.Fatalf("versionLess(%s, %s) = %v", ordered[i], ordered[j], got)
			}
		}
	}
}
