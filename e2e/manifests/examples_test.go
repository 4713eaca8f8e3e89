package manifests

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"navarch.dev/apiserver/testserver"
)

// decodeAll reads every object of a multi-document YAML file.
func decodeAll(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var o map[string]any
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(o) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: o})
	}
	return objs
}

// TestManifestsServerDryRun creates every example, and every static pod as
// the mirror pod the kubelet will make of it, with dryRun=All and strict
// field validation against a real apiserver: what `navctl apply
// --dry-run=server` would tell an operator before anything is stored.
func TestManifestsServerDryRun(t *testing.T) {
	ts := testserver.Start(t)
	dc, err := discovery.NewDiscoveryClientForConfig(ts.Config)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	dyn, err := dynamic.NewForConfig(ts.Config)
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	examples, _ := filepath.Glob(filepath.Join(root, "manifests", "examples", "*.yaml"))
	var names []string
	for _, f := range examples {
		names = append(names, filepath.Base(f))
	}
	sort.Strings(names)
	for _, want := range []string{"cronjob.yaml", "daemonset.yaml", "httpd.yaml", "job.yaml", "statefulset.yaml"} {
		if !slices.Contains(names, want) {
			t.Errorf("manifests/examples lacks %s (has %v)", want, names)
		}
	}
	static, _ := filepath.Glob(filepath.Join(root, "manifests", "static-pods", "*.yaml"))
	kinds := map[string]bool{}
	for _, f := range append(examples, static...) {
		rel, _ := filepath.Rel(root, f)
		objs := decodeAll(t, f)
		if len(objs) == 0 {
			t.Errorf("%s holds no objects", rel)
		}
		for _, o := range objs {
			t.Run(rel+"/"+o.GetKind()+"/"+o.GetName(), func(t *testing.T) {
				gvk := o.GroupVersionKind()
				kinds[gvk.Kind] = true
				m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
				if err != nil {
					t.Fatalf("%s: %v", gvk, err)
				}
				ns := o.GetNamespace()
				if ns == "" {
					ns = "default"
				}
				got, err := dyn.Resource(m.Resource).Namespace(ns).Create(context.Background(), o,
					metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
				if err != nil {
					t.Fatalf("dry-run create %s %s: %v", gvk.Kind, o.GetName(), err)
				}
				if got.GetName() != o.GetName() {
					t.Errorf("dry run answered %q, want %q", got.GetName(), o.GetName())
				}
				// A dry run stores nothing.
				if _, err := dyn.Resource(m.Resource).Namespace(ns).Get(context.Background(), o.GetName(), metav1.GetOptions{}); err == nil {
					t.Errorf("%s %s exists after a dry run", gvk.Kind, o.GetName())
				}
			})
		}
	}
	for _, k := range []string{"Deployment", "Service", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"} {
		if !kinds[k] {
			t.Errorf("no %s among the manifests", k)
		}
	}
}
