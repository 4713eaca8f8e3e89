package printers_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"navarch.dev/ctl/pkg/printers"
)

func TestColumnWriter(t *testing.T) {
	tests := []struct {
		name    string
		batches [][][]string // rows written before each Flush
		want    string
	}{
		{
			name:    "three spaces after the widest cell, last cell unpadded",
			batches: [][][]string{{{"NAME", "STATUS", "AGE"}, {"web-1", "Running", "5m"}}},
			want:    "NAME    STATUS    AGE\nweb-1   Running   5m\n",
		},
		{
			name:    "columns are at least six wide",
			batches: [][][]string{{{"a", "b", "c"}, {"d", "e", "f"}}},
			want:    "a     b     c\nd     e     f\n",
		},
		{
			name:    "widths are remembered across flushes and grow",
			batches: [][][]string{{{"NAME", "AGE"}, {"web-1", "1s"}}, {{"w", "2s"}}, {{"a-longer-name", "3s"}}, {{"x", "4s"}}},
			want:    "NAME    AGE\nweb-1   1s\nw       2s\na-longer-name   3s\nx               4s\n",
		},
		{
			name:    "wide characters count once",
			batches: [][][]string{{{"ÄÖÜ", "x"}, {"abcdefg", "y"}}},
			want:    "ÄÖÜ       x\nabcdefg   y\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			cw := printers.NewColumnWriter(&b)
			for _, batch := range tc.batches {
				for _, r := range batch {
					cw.Write(r)
				}
				if err := cw.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			if b.String() != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", b.String(), tc.want)
			}
		})
	}
}

func row(name, ns string, labels map[string]string, cells ...any) metav1.TableRow {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetName(name)
	u.SetNamespace(ns)
	u.SetLabels(labels)
	raw, _ := json.Marshal(u.Object)
	return metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Raw: raw}}
}

func TestPrintTable(t *testing.T) {
	tbl := &metav1.Table{
		ColumnDefinitions: []metav1.TableColumnDefinition{
			{Name: "Name", Format: "name"},
			{Name: "Ready"},
			{Name: "Restarts", Type: "integer"},
			{Name: "Nominated Node", Priority: 1},
		},
		Rows: []metav1.TableRow{
			row("web-1", "default", map[string]string{"app": "web", "tier": "front"}, "web-1", "1/1", int64(0), "<none>"),
			row("db", "prod", nil, "db", "line one\nline two", int64(12), "node-2"),
		},
	}
	tests := []struct {
		name string
		opts printers.TableOptions
		want string
	}{
		{
			name: "default hides priority columns and cuts multi-line cells",
			want: "NAME    READY         RESTARTS\nweb-1   1/1           0\ndb      line one...   12\n",
		},
		{
			name: "wide, no headers",
			opts: printers.TableOptions{Wide: true, NoHeaders: true},
			want: "web-1   1/1           0     <none>\ndb      line one...   12    node-2\n",
		},
		{
			name: "namespace, kind, labels",
			opts: printers.TableOptions{WithNamespace: true, Kind: "pod", ShowLabels: true, LabelColumns: []string{"app.kubernetes.io/app", "tier"}},
			want: "NAMESPACE   NAME        READY         RESTARTS   APP   TIER    LABELS\n" +
				"default     pod/web-1   1/1           0                front   app=web,tier=front\n" +
				"prod        pod/db      line one...   12                       <none>\n",
		},
		{
			name: "watch event column",
			opts: printers.TableOptions{EventType: "ADDED"},
			want: "EVENT   NAME    READY         RESTARTS\nADDED   web-1   1/1           0\nADDED   db      line one...   12\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printers.PrintTable(tbl, tc.opts, &b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tc.want)
			}
		})
	}
}

func TestSortOrder(t *testing.T) {
	obj := func(v any) map[string]any {
		if v == nil {
			return map[string]any{"spec": map[string]any{}}
		}
		return map[string]any{"spec": map[string]any{"v": v}}
	}
	tests := []struct {
		name string
		vals []any
		want []int
	}{
		{name: "natural string order", vals: []any{"web-10", "web-2", "web-1"}, want: []int{2, 1, 0}},
		{name: "numbers by value", vals: []any{float64(10), float64(9), int64(100)}, want: []int{1, 0, 2}},
		{name: "quantities by amount", vals: []any{"1Gi", "512Mi", "2Gi"}, want: []int{1, 0, 2}},
		{name: "missing first, stable", vals: []any{"b", nil, "a", nil}, want: []int{1, 3, 2, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []map[string]any
			for _, v := range tc.vals {
				objs = append(objs, obj(v))
			}
			got, err := printers.SortOrder(objs, ".spec.v")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	if _, err := printers.SortOrder([]map[string]any{obj("a")}, ".spec.nope"); err == nil || !strings.Contains(err.Error(), `couldn't find any field with path "{.spec.nope}"`) {
		t.Errorf("sorting by a missing field: err = %v", err)
	}
}

func TestRelaxedJSONPath(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: ".metadata.name", want: "{.metadata.name}"},
		{in: "metadata.name", want: "{.metadata.name}"},
		{in: "{.metadata.name}", want: "{.metadata.name}"},
		{in: "{metadata.name}", want: "{.metadata.name}"},
		{in: "{.metadata.name", err: "unexpected path string"},
		{in: "", err: "cannot be empty"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := printers.RelaxedJSONPath(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestTemplatePrinters(t *testing.T) {
	pod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "web-1", "labels": map[string]any{"app": "web"}},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "a", "image": "nginx"}, map[string]any{"name": "b", "image": "busybox"}}},
		"data":     map[string]any{"pw": "czNjcmV0"},
	}}
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List"}, Items: []unstructured.Unstructured{*pod, *pod}}
	tests := []struct {
		name   string
		output string
		obj    runtime.Object
		want   string
		err    string
	}{
		{name: "jsonpath", output: "jsonpath={.metadata.name} {.spec.containers[*].image}", obj: pod, want: "web-1 nginx busybox"},
		{name: "jsonpath range", output: `jsonpath={range .spec.containers[*]}{.name}={.image}{"\n"}{end}`, obj: pod, want: "a=nginx\nb=busybox\n"},
		{name: "jsonpath map prints as JSON", output: "jsonpath={.metadata.labels}", obj: pod, want: `{"app":"web"}`},
		{name: "jsonpath as json", output: "jsonpath-as-json={.metadata.name}", obj: pod, want: "[\n    \"web-1\"\n]\n"},
		{name: "jsonpath list", output: "jsonpath={.items[*].metadata.name}", obj: list, want: "web-1 web-1"},
		{name: "go-template with base64decode", output: `go-template={{.metadata.name}}:{{base64decode .data.pw}}`, obj: pod, want: "web-1:s3cret"},
		{name: "go-template missing key", output: `go-template={{.nope}}`, obj: pod, want: "<no value>"},
		{name: "go-template exists", output: `go-template={{if exists . "metadata" "labels" "app"}}yes{{end}}`, obj: pod, want: "yes"},
		{name: "custom columns", output: "custom-columns=NAME:.metadata.name,IMAGES:.spec.containers[*].image,X:.nope", obj: list, want: "NAME    IMAGES          X\nweb-1   nginx,busybox   <none>\nweb-1   nginx,busybox   <none>\n"},
		{name: "bare jsonpath", output: "jsonpath", err: "template format specified but no template given"},
		{name: "bare custom columns", output: "custom-columns", err: "custom-columns format specified but no custom columns given"},
		{name: "bad go template", output: "go-template={{.x", err: "error parsing template {{.x, template: output:1: unclosed action"},
		{name: "unknown", output: "table", err: `unable to match a printer suitable for the output format "table"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := printers.ForOutput(tc.output)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := p.PrintObj(tc.obj, &b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", b.String(), tc.want)
			}
		})
	}
}

func TestCustomColumnsFromFile(t *testing.T) {
	p, err := printers.CustomColumnsFromFile(strings.NewReader("NAME   IMAGE\n.metadata.name   .spec.containers[0].image\n"))
	if err != nil {
		t.Fatal(err)
	}
	pod := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "web-1"},
		"spec":     map[string]any{"containers": []any{map[string]any{"image": "nginx"}}},
	}}
	var b bytes.Buffer
	if err := p.PrintObj(pod, &b); err != nil {
		t.Fatal(err)
	}
	if want := "NAME    IMAGE\nweb-1   nginx\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	if _, err := printers.CustomColumnsFromFile(strings.NewReader("A B\n.a\n")); err == nil {
		t.Error("mismatched headers and paths: want an error")
	}
}
