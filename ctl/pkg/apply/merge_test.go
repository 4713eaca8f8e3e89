package apply

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

func object(t *testing.T, js string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(js)); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestModifiedConfiguration(t *testing.T) {
	tests := []struct {
		name     string
		obj      string
		annotate bool
		want     string
	}{
		{
			name: "no annotations leaves an empty map, as kubectl does",
			obj:  `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"b"}}`,
			want: `{"apiVersion":"v1","data":{"a":"b"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"c"}}` + "\n",
		},
		{
			name: "an old last-applied annotation is not part of the configuration",
			obj:  `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"old","x":"y"}}}`,
			want: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"annotations":{"x":"y"},"name":"c"}}` + "\n",
		},
		{
			name:     "annotate stores the configuration in the annotation",
			obj:      `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`,
			annotate: true,
			want:     `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":{},\"name\":\"c\"}}\n"},"name":"c"}}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := object(t, tt.obj)
			before, _ := obj.MarshalJSON()
			got, err := ModifiedConfiguration(obj, tt.annotate)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			after, _ := obj.MarshalJSON()
			if string(before) != string(after) {
				t.Errorf("ModifiedConfiguration changed its argument:\n%s\n%s", before, after)
			}
		})
	}
}

func TestSetLastApplied(t *testing.T) {
	obj := object(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","labels":{"app":"x"}}}`)
	if err := SetLastApplied(obj); err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"annotations":{},"labels":{"app":"x"},"name":"c"}}` + "\n"
	if got := string(OriginalConfiguration(obj)); got != want {
		t.Errorf("annotation %q, want %q", got, want)
	}
	// Recording it again gives the same configuration, not one nested in
	// the other.
	if err := SetLastApplied(obj); err != nil {
		t.Fatal(err)
	}
	if got := string(OriginalConfiguration(obj)); got != want {
		t.Errorf("second annotation %q, want %q", got, want)
	}
}

func TestThreeWayPatch(t *testing.T) {
	deployment := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	widget := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	tests := []struct {
		name                        string
		gvk                         schema.GroupVersionKind
		original, modified, current string
		wantType                    types.PatchType
		want                        string
	}{
		{
			name:     "unchanged configuration is an empty patch despite fields others set",
			gvk:      deployment,
			original: `{"spec":{"replicas":2}}`,
			modified: `{"spec":{"replicas":2}}`,
			current:  `{"metadata":{"labels":{"extra":"yes"}},"spec":{"replicas":2,"revisionHistoryLimit":10}}`,
			wantType: types.StrategicMergePatchType,
			want:     `{}`,
		},
		{
			name:     "a changed field is sent, others' fields are kept",
			gvk:      deployment,
			original: `{"metadata":{"labels":{"app":"a"}},"spec":{"replicas":2}}`,
			modified: `{"metadata":{"labels":{"app":"a"}},"spec":{"replicas":3}}`,
			current:  `{"metadata":{"labels":{"app":"a","extra":"yes"}},"spec":{"replicas":2}}`,
			wantType: types.StrategicMergePatchType,
			want:     `{"spec":{"replicas":3}}`,
		},
		{
			name:     "a field dropped from the configuration is removed",
			gvk:      deployment,
			original: `{"metadata":{"labels":{"app":"a","tier":"web"}}}`,
			modified: `{"metadata":{"labels":{"app":"a"}}}`,
			current:  `{"metadata":{"labels":{"app":"a","tier":"web","extra":"yes"}}}`,
			wantType: types.StrategicMergePatchType,
			want:     `{"metadata":{"labels":{"tier":null}}}`,
		},
		{
			name:     "containers merge by name",
			gvk:      deployment,
			original: `{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:1"}]}}}}`,
			modified: `{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:2"}]}}}}`,
			current:  `{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x:1","imagePullPolicy":"IfNotPresent"}]}}}}`,
			wantType: types.StrategicMergePatchType,
			want:     `{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"a"}],"containers":[{"image":"x:2","name":"a"}]}}}}`,
		},
		{
			name:     "kinds outside the scheme get a JSON merge patch",
			gvk:      widget,
			original: `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1,"color":"red"}}`,
			modified: `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":2}}`,
			current:  `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1,"color":"red","owner":"x"}}`,
			wantType: types.MergePatchType,
			want:     `{"spec":{"color":null,"size":2}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patch, pt, err := ThreeWayPatch([]byte(tt.original), []byte(tt.modified), []byte(tt.current), tt.gvk, true)
			if err != nil {
				t.Fatal(err)
			}
			if pt != tt.wantType {
				t.Errorf("patch type %s, want %s", pt, tt.wantType)
			}
			if !jsonEqual(t, string(patch), tt.want) {
				t.Errorf("patch %s, want %s", patch, tt.want)
			}
		})
	}
}

func TestThreeWayPatchRefusesIdentityChange(t *testing.T) {
	widget := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	_, _, err := ThreeWayPatch(
		[]byte(`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"}}`),
		[]byte(`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"other"}}`),
		[]byte(`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"}}`),
		widget, true)
	if err != ErrKeyChanged {
		t.Fatalf("err %v, want %v", err, ErrKeyChanged)
	}
}

func TestPatch(t *testing.T) {
	pod := schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	original := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]}}`
	tests := []struct {
		name      string
		patchType types.PatchType
		patch     string
		want      string
		wantErr   string
	}{
		{
			name:      "strategic merges containers by name",
			patchType: types.StrategicMergePatchType,
			patch:     `{"spec":{"containers":[{"name":"b","image":"z"}]}}`,
			want:      `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"z"}]}}`,
		},
		{
			name:      "merge replaces lists",
			patchType: types.MergePatchType,
			patch:     `{"spec":{"containers":[{"name":"b","image":"z"}]}}`,
			want:      `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"b","image":"z"}]}}`,
		},
		{
			name:      "json patch addresses by position",
			patchType: types.JSONPatchType,
			patch:     `[{"op":"replace","path":"/spec/containers/0/image","value":"w"}]`,
			want:      `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"w"},{"name":"b","image":"y"}]}}`,
		},
		{
			name:      "json patch to a missing path fails",
			patchType: types.JSONPatchType,
			patch:     `[{"op":"replace","path":"/spec/nope/x","value":1}]`,
			wantErr:   "replace operation does not apply",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Patch([]byte(original), []byte(tt.patch), tt.patchType, pod)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, string(got), tt.want) {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}
