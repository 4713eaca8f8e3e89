package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// raw sends one request with the admin credentials and returns code, headers and body.
func raw(t *testing.T, method, path, contentType, accept string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	tr, err := rest.TransportFor(shared.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, shared.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func statusOf(t *testing.T, body []byte) metav1.Status {
	t.Helper()
	var st metav1.Status
	if err := json.Unmarshal(body, &st); err != nil || st.Kind != "Status" {
		t.Fatalf("body is not a Status: %s", body)
	}
	return st
}

func TestBadRequestsGetStatusErrors(t *testing.T) {
	ns := newNamespace(t, shared.Client)
	base := "/api/v1/namespaces/" + ns + "/configmaps"
	big := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"` + strings.Repeat("x", 4<<20) + `"}}`
	tests := []struct {
		name       string
		path, ct   string
		body       string
		wantCode   int
		wantReason metav1.StatusReason
	}{
		{name: "malformed JSON", path: base, ct: "application/json", body: `{"kind":`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "wrong kind", path: base, ct: "application/json", body: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "unknown field strict", path: base + "?fieldValidation=Strict", ct: "application/json", body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"s"},"bogus":1}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "too large", path: base, ct: "application/json", body: big, wantCode: 413, wantReason: metav1.StatusReasonRequestEntityTooLarge},
		{name: "unsupported media type", path: base, ct: "text/plain", body: `x`, wantCode: 415, wantReason: metav1.StatusReasonUnsupportedMediaType},
		{name: "bad dryRun", path: base + "?dryRun=Some", ct: "application/json", body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d"}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := raw(t, "POST", tc.path, tc.ct, "", []byte(tc.body))
			if code != tc.wantCode {
				t.Fatalf("code %d, want %d: %s", code, tc.wantCode, body)
			}
			if st := statusOf(t, body); st.Reason != tc.wantReason || st.Code != int32(tc.wantCode) {
				t.Fatalf("status %s/%d, want %s/%d", st.Reason, st.Code, tc.wantReason, tc.wantCode)
			}
		})
	}
	list, err := shared.Client.CoreV1().ConfigMaps(ns).List(testContext(t), metav1.ListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("rejected requests stored objects: %v %v", list, err)
	}
	// The default (Warn) keeps the object but warns about the unknown field.
	code, hdr, body := raw(t, "POST", base, "application/json", "", []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w"},"bogus":1}`))
	if code != 201 || !strings.Contains(hdr.Get("Warning"), `unknown field \"bogus\"`) {
		t.Fatalf("Warn mode: code %d warning %q body %s", code, hdr.Get("Warning"), body)
	}
}

func TestTablesMetadataAndDiscovery(t *testing.T) {
	code, _, body := raw(t, "GET", "/api/v1/namespaces", "", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json", nil)
	var table metav1.Table
	if code != 200 || json.Unmarshal(body, &table) != nil || table.Kind != "Table" {
		t.Fatalf("table request: %d %s", code, body)
	}
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	if strings.Join(cols, ",") != "Name,Status,Age" || len(table.Rows) < 4 {
		t.Fatalf("namespace table columns %v with %d rows", cols, len(table.Rows))
	}
	code, _, body = raw(t, "GET", "/api/v1/namespaces", "", "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", nil)
	var pm metav1.PartialObjectMetadataList
	if code != 200 || json.Unmarshal(body, &pm) != nil || pm.Kind != "PartialObjectMetadataList" || len(pm.Items) < 4 || pm.Items[0].Name == "" {
		t.Fatalf("metadata list: %d %s", code, body)
	}
	code, _, body = raw(t, "GET", "/apis", "", "", nil)
	var groups metav1.APIGroupList
	if code != 200 || json.Unmarshal(body, &groups) != nil {
		t.Fatalf("/apis: %d %s", code, body)
	}
	names := map[string]string{}
	for _, g := range groups.Groups {
		names[g.Name] = g.PreferredVersion.Version
	}
	for g, v := range map[string]string{"apps": "v1", "batch": "v1", "autoscaling": "v2", "rbac.authorization.k8s.io": "v1", "events.k8s.io": "v1"} {
		if names[g] != v {
			t.Fatalf("/apis: group %s preferred %q, want %s (%v)", g, names[g], v, names)
		}
	}
	for path, want := range map[string]string{"/version": `"gitVersion"`, "/healthz": "ok", "/readyz?verbose": "[+]etcd ok", "/healthz/etcd": "ok", "/livez": "ok", "/metrics": "apiserver_request_total"} {
		code, _, body := raw(t, "GET", path, "", "", nil)
		if code != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("%s: %d, body lacks %q: %.300s", path, code, want, body)
		}
	}
}
