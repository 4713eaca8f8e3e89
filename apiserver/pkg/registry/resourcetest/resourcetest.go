// Package resourcetest checks a group's Resource descriptions against the
// names upstream's discovery shows, and runs strategies the way the store
// does. It is imported by tests only.
package resourcetest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
)

// Want is what discovery must show for one resource.
type Want struct {
	GroupVersion           string // "v1", "apps/v1"
	Plural, Singular       string
	Kind, ListKind         string
	Namespaced             bool
	ShortNames, Categories []string
	Status, Scale          bool
	Stored                 string // "group/version/plural" when stored as another resource
}

// Check compares resources, in order, with want, and checks that each
// resource is usable: New and NewList return its Kind and ListKind, a strategy
// is set, and metadata validation agrees with Namespaced.
func Check(t *testing.T, resources []*registry.Resource, want []Want) {
	t.Helper()
	if len(resources) != len(want) {
		var got []string
		for _, r := range resources {
			got = append(got, r.GroupVersionResource().String())
		}
		t.Fatalf("got %d resources %v, want %d", len(resources), got, len(want))
	}
	for i, w := range want {
		r := resources[i]
		t.Run(w.GroupVersion+"/"+w.Plural, func(t *testing.T) {
			got := Want{
				GroupVersion: r.GroupVersion.String(), Plural: r.Plural, Singular: r.Singular, Kind: r.Kind, ListKind: r.ListKind,
				Namespaced: r.Namespaced, ShortNames: r.ShortNames, Categories: r.Categories, Status: r.Status, Scale: r.Scale,
			}
			if r.Storage != nil {
				got.Stored = r.Storage.GroupVersion.String() + "/" + r.Storage.Plural
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("resource description:\n got %+v\nwant %+v", got, w)
			}
			if n := typeName(r.New()); n != w.Kind {
				t.Errorf("New() returns %s, want %s", n, w.Kind)
			}
			if n := typeName(r.NewList()); n != w.ListKind {
				t.Errorf("NewList() returns %s, want %s", n, w.ListKind)
			}
			if r.Strategy == nil {
				t.Fatalf("no strategy")
			}
			if r.Status != (r.StatusStrategy != nil) {
				t.Errorf("Status is %v but StatusStrategy is %v", r.Status, r.StatusStrategy)
			}
			checkNamespaceRule(t, r)
			if r.Fields != nil {
				for k := range r.Fields(r.New()) {
					if k == "metadata.name" || k == "metadata.namespace" {
						t.Errorf("Fields returns %q, which the store adds itself", k)
					}
				}
			}
		})
	}
}

func typeName(obj any) string {
	return reflect.TypeOf(obj).Elem().Name()
}

// checkNamespaceRule validates an empty object with a valid name: namespaced
// resources must accept a namespace and require one, cluster-scoped ones must
// refuse one.
func checkNamespaceRule(t *testing.T, r *registry.Resource) {
	t.Helper()
	for _, ns := range []string{"", "default"} {
		obj := r.New()
		m, err := meta.Accessor(obj)
		if err != nil {
			t.Fatalf("object has no metadata: %v", err)
		}
		m.SetName("valid-name")
		m.SetNamespace(ns)
		var nsErrs field.ErrorList
		for _, e := range r.Strategy.Validate(obj) {
			if e.Field == "metadata.namespace" {
				nsErrs = append(nsErrs, e)
			}
		}
		wantErr := (ns == "") == r.Namespaced
		if wantErr && len(nsErrs) == 0 {
			t.Errorf("namespace %q: no metadata.namespace error, want one (Namespaced=%v)", ns, r.Namespaced)
		}
		if !wantErr && len(nsErrs) > 0 {
			t.Errorf("namespace %q: unexpected metadata.namespace errors %v", ns, nsErrs)
		}
	}
}

// Create runs a strategy's create hooks on obj the way the store does and
// returns the validation errors.
func Create(s registry.Strategy, obj runtime.Object) field.ErrorList {
	s.PrepareForCreate(obj)
	s.Default(obj)
	return s.Validate(obj)
}

// Update runs a strategy's update hooks on obj against old the way the store
// does and returns the validation errors.
func Update(s registry.Strategy, obj, old runtime.Object) field.ErrorList {
	s.PrepareForUpdate(obj, old)
	s.Default(obj)
	return s.ValidateUpdate(obj, old)
}

// SameErrs fails t unless errs are exactly want, each written "<field>: <type>".
func SameErrs(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%s: %s", e.Field, e.Type))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n got %q\nwant %q\nfull: %v", got, want, errs)
	}
}
