// Package resource finds what a navctl command acts on: objects read from
// manifests (files, directories, stdin; multi-document YAML or JSON Lists) and
// resources named on the command line ("po", "pods/web", "deploy,svc", "all"),
// mapped to their REST endpoints by discovery.
package resource

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// Manifest is one object read from a manifest, with where it came from.
type Manifest struct {
	Object *unstructured.Unstructured
	Source string
}

// ReadManifests reads every object in paths. A path may be a file, a
// directory (its .yaml, .yml and .json files; with recursive, also those of
// its subdirectories) or "-" for stdin. Lists (kind: List or *List) are
// flattened into their items.
func ReadManifests(paths []string, recursive bool, stdin io.Reader) ([]Manifest, error) {
	if len(paths) == 0 {
		return nil, errors.New("must specify one of -f and -k")
	}
	var out []Manifest
	for _, p := range paths {
		if p == "-" {
			objs, err := decodeStream(stdin, "STDIN")
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("the path %q does not exist", p)
		}
		var files []string
		if st.IsDir() {
			err := filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() {
					if path != p && !recursive {
						return filepath.SkipDir
					}
					return nil
				}
				switch strings.ToLower(filepath.Ext(path)) {
				case ".yaml", ".yml", ".json":
					files = append(files, path)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			sort.Strings(files)
		} else {
			files = []string{p}
		}
		for _, file := range files {
			f, err := os.Open(file)
			if err != nil {
				return nil, err
			}
			objs, err := decodeStream(f, file)
			f.Close()
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
	}
	return out, nil
}

func decodeStream(r io.Reader, source string) ([]Manifest, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []Manifest
	for {
		doc, err := reader.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("error parsing %s: %w", source, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 || isOnlyComments(doc) {
			continue
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("error parsing %s: %w", source, err)
		}
		if string(bytes.TrimSpace(j)) == "null" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, fmt.Errorf("error validating %q: error validating data: %w", source, err)
		}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("error parsing %s: %w", source, err)
			}
			for i := range list.Items {
				out = append(out, Manifest{Object: &list.Items[i], Source: source})
			}
			continue
		}
		out = append(out, Manifest{Object: u, Source: source})
	}
}

func isOnlyComments(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") && t != "---" {
			return false
		}
	}
	return true
}

// Ref is one resource named on the command line, optionally with a name.
type Ref struct {
	Mapping *meta.RESTMapping
	Name    string
}

// Resolve turns command-line arguments into refs, as kubectl reads them:
// "TYPE[,TYPE...] [NAME...]", or "TYPE/NAME ...". "all" expands to the
// resources in the "all" category.
func Resolve(mapper meta.RESTMapper, disc discovery.DiscoveryInterface, args []string) ([]Ref, error) {
	if len(args) == 0 {
		return nil, errors.New("you must specify the type of resource to get")
	}
	if strings.Contains(args[0], "/") {
		var out []Ref
		for _, a := range args {
			typ, name, ok := strings.Cut(a, "/")
			if !ok || name == "" {
				return nil, fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'navctl get resource/<resource_name>' instead of 'navctl get resource resource/<resource_name>'")
			}
			m, err := MappingFor(mapper, typ)
			if err != nil {
				return nil, err
			}
			out = append(out, Ref{Mapping: m, Name: name})
		}
		return out, nil
	}
	var mappings []*meta.RESTMapping
	for _, typ := range strings.Split(args[0], ",") {
		if typ == "" {
			continue
		}
		if typ == "all" {
			ms, err := categoryMappings(mapper, disc, "all")
			if err != nil {
				return nil, err
			}
			mappings = append(mappings, ms...)
			continue
		}
		m, err := MappingFor(mapper, typ)
		if err != nil {
			return nil, err
		}
		mappings = append(mappings, m)
	}
	var out []Ref
	for _, m := range mappings {
		if len(args) == 1 {
			out = append(out, Ref{Mapping: m})
			continue
		}
		for _, name := range args[1:] {
			out = append(out, Ref{Mapping: m, Name: name})
		}
	}
	return out, nil
}

// MappingFor maps a type as users write it ("po", "pods", "pod",
// "deployments.apps", "Deployment") to its REST mapping.
func MappingFor(mapper meta.RESTMapper, typ string) (*meta.RESTMapping, error) {
	gvr, gr := schema.ParseResourceArg(strings.ToLower(typ))
	var gvk schema.GroupVersionKind
	var err error
	if gvr != nil {
		gvk, err = mapper.KindFor(*gvr)
	}
	if gvr == nil || err != nil {
		gvk, err = mapper.KindFor(gr.WithVersion(""))
	}
	if err != nil && !meta.IsNoMatchError(err) {
		// Discovery itself failed (the server is unreachable, ...).
		return nil, err
	}
	if err != nil {
		// A kind written as a kind (Deployment, deployment.apps).
		gk := schema.ParseGroupKind(typ)
		if m, kerr := mapper.RESTMapping(gk); kerr == nil {
			return m, nil
		}
		return nil, fmt.Errorf("the server doesn't have a resource type %q", typ)
	}
	return mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
}

// MappingForObject maps an object's apiVersion and kind.
func MappingForObject(mapper meta.RESTMapper, u *unstructured.Unstructured) (*meta.RESTMapping, error) {
	gvk := u.GroupVersionKind()
	if gvk.Kind == "" {
		return nil, fmt.Errorf("Object 'Kind' is missing in '%s'", compact(u))
	}
	if gvk.Version == "" {
		return nil, fmt.Errorf("Object 'apiVersion' is missing in '%s'", compact(u))
	}
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("resource mapping not found for name: %q namespace: %q from %q: no matches for kind %q in version %q\nensure CRDs are installed first",
			u.GetName(), u.GetNamespace(), "", gvk.Kind, gvk.GroupVersion().String())
	}
	return m, nil
}

func compact(u *unstructured.Unstructured) string {
	b, _ := u.MarshalJSON()
	return string(b)
}

// categoryMappings returns the preferred-version resources in a category.
func categoryMappings(mapper meta.RESTMapper, disc discovery.DiscoveryInterface, category string) ([]*meta.RESTMapping, error) {
	lists, err := disc.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return nil, err
	}
	var out []*meta.RESTMapping
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			for _, c := range r.Categories {
				if c != category {
					continue
				}
				m, err := mapper.RESTMapping(gv.WithKind(r.Kind).GroupKind(), gv.Version)
				if err == nil {
					out = append(out, m)
				}
			}
		}
	}
	// kubectl lists "all" in this order.
	order := map[string]int{"pods": 0, "replicationcontrollers": 1, "services": 2, "daemonsets": 3, "deployments": 4, "replicasets": 5, "statefulsets": 6, "horizontalpodautoscalers": 7, "cronjobs": 8, "jobs": 9}
	sort.SliceStable(out, func(i, j int) bool {
		oi, iok := order[out[i].Resource.Resource]
		oj, jok := order[out[j].Resource.Resource]
		if !iok {
			oi = 100
		}
		if !jok {
			oj = 100
		}
		return oi < oj
	})
	return out, nil
}

// Client returns the dynamic client of a mapping in namespace ns (ignored for
// cluster-scoped resources; "" for namespaced ones means all namespaces).
func Client(dyn dynamic.Interface, m *meta.RESTMapping, ns string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return dyn.Resource(m.Resource).Namespace(ns)
	}
	return dyn.Resource(m.Resource)
}

// Namespaced reports whether the mapping's resource lives in namespaces.
func Namespaced(m *meta.RESTMapping) bool { return m.Scope.Name() == meta.RESTScopeNameNamespace }

// KindName is how kubectl names an object in messages: "deployment.apps/web",
// "pod/web-1".
func KindName(m *meta.RESTMapping, name string) string {
	kind := strings.ToLower(m.GroupVersionKind.Kind)
	if g := m.GroupVersionKind.Group; g != "" {
		kind += "." + g
	}
	return kind + "/" + name
}
