package typedstrategy

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// recorder is a strategy whose hooks log their calls and report one error each.
func recorder(log *[]string) Funcs[*corev1.ConfigMap] {
	hook := func(name string) field.ErrorList {
		*log = append(*log, name)
		return field.ErrorList{field.Invalid(field.NewPath(name), "", "")}
	}
	return Funcs[*corev1.ConfigMap]{
		Namespaced:    true,
		PrepareCreate: func(*corev1.ConfigMap) { *log = append(*log, "PrepareCreate") },
		PrepareUpdate: func(_, _ *corev1.ConfigMap) { *log = append(*log, "PrepareUpdate") },
		Defaults:      func(*corev1.ConfigMap) { *log = append(*log, "Defaults") },
		Check:         func(*corev1.ConfigMap) field.ErrorList { return hook("Check") },
		CheckCreate:   func(*corev1.ConfigMap) field.ErrorList { return hook("CheckCreate") },
		CheckUpdate:   func(_, _ *corev1.ConfigMap) field.ErrorList { return hook("CheckUpdate") },
		CheckStatus:   func(_, _ *corev1.ConfigMap) field.ErrorList { return hook("CheckStatus") },
	}
}

func TestFuncs(t *testing.T) {
	cm := func(name string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	}
	tests := []struct {
		name      string
		call      func(s Funcs[*corev1.ConfigMap]) field.ErrorList
		wantCalls string
		wantErrs  string
	}{
		{
			name: "create",
			call: func(s Funcs[*corev1.ConfigMap]) field.ErrorList {
				o := cm("a")
				s.PrepareForCreate(o)
				s.Default(o)
				return s.Validate(o)
			},
			wantCalls: "PrepareCreate,Defaults,Check,CheckCreate",
			wantErrs:  "Check,CheckCreate",
		},
		{
			name:      "create with an invalid name reports metadata first",
			call:      func(s Funcs[*corev1.ConfigMap]) field.ErrorList { return s.Validate(cm("Bad_Name")) },
			wantCalls: "Check,CheckCreate",
			wantErrs:  "metadata.name,Check,CheckCreate",
		},
		{
			name: "update",
			call: func(s Funcs[*corev1.ConfigMap]) field.ErrorList {
				o, old := cm("a"), cm("a")
				s.PrepareForUpdate(o, old)
				s.Default(o)
				return s.ValidateUpdate(o, old)
			},
			wantCalls: "PrepareUpdate,Defaults,Check,CheckUpdate",
			wantErrs:  "Check,CheckUpdate",
		},
		{
			name:      "status update",
			call:      func(s Funcs[*corev1.ConfigMap]) field.ErrorList { return s.ValidateStatusUpdate(cm("a"), cm("a")) },
			wantCalls: "CheckStatus",
			wantErrs:  "CheckStatus",
		},
		{
			name:     "wrong type is an internal error",
			call:     func(s Funcs[*corev1.ConfigMap]) field.ErrorList { return s.Validate(&corev1.Secret{}) },
			wantErrs: "<nil>",
		},
		{
			name: "wrong type is left alone by mutating hooks",
			call: func(s Funcs[*corev1.ConfigMap]) field.ErrorList {
				var o runtime.Object = &corev1.Secret{}
				s.PrepareForCreate(o)
				s.Default(o)
				s.PrepareForUpdate(o, o)
				return nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			errs := tt.call(recorder(&log))
			if got := strings.Join(log, ","); got != tt.wantCalls {
				t.Errorf("calls = %q, want %q", got, tt.wantCalls)
			}
			var fields []string
			for _, e := range errs {
				f := e.Field
				if e.Type == field.ErrorTypeInternal {
					f = fmt.Sprint(nil)
				}
				fields = append(fields, f)
			}
			if got := strings.Join(fields, ","); got != tt.wantErrs {
				t.Errorf("errors = %q, want %q (%v)", got, tt.wantErrs, errs)
			}
		})
	}
}
