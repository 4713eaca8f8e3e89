package networking

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
)

func create(s registry.Strategy, obj runtime.Object) field.ErrorList {
	s.PrepareForCreate(obj)
	s.Default(obj)
	return s.Validate(obj)
}

func update(s registry.Strategy, obj, old runtime.Object) field.ErrorList {
	s.PrepareForUpdate(obj, old)
	s.Default(obj)
	return s.ValidateUpdate(obj, old)
}

func sameErrs(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	var got []string
	for _, e := range errs {
		got = append(got, fmt.Sprintf("%s: %s", e.Field, e.Type))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n got %q\nwant %q\nfull: %v", got, want, errs)
	}
}
