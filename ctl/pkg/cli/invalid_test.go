package cli

import (
	"bytes"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestReportInvalid(t *testing.T) {
	deployments := schema.GroupKind{Group: "apps", Kind: "Deployment"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "one cause",
			err:  apierrors.NewInvalid(deployments, "web", field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), -1, "must be greater than or equal to 0")}),
			want: "The Deployment \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0\n",
		},
		{
			name: "several causes, one a line",
			err: apierrors.NewInvalid(deployments, "web", field.ErrorList{
				field.Invalid(field.NewPath("spec", "replicas"), -1, "must be greater than or equal to 0"),
				field.Required(field.NewPath("spec", "selector"), ""),
			}),
			want: "The Deployment \"web\" is invalid: \n* spec.replicas: Invalid value: -1: must be greater than or equal to 0\n* spec.selector: Required value\n",
		},
		{
			name: "no details",
			err:  &apierrors.StatusError{ErrStatus: apierrors.NewInvalid(deployments, "web", nil).ErrStatus},
			want: "The Deployment \"web\" is invalid\n",
		},
		{
			name: "other errors keep their wording",
			err:  apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "x"),
			want: "Error from server (NotFound): pods \"x\" not found\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if code := Report(&buf, tt.err); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			if buf.String() != tt.want {
				t.Errorf("printed %q, want %q", buf.String(), tt.want)
			}
		})
	}
}

func TestFieldValidation(t *testing.T) {
	tests := []struct {
		name, flag, want string
		wantErr          bool
	}{
		{"default", "strict", "Strict", false},
		{"true is strict", "true", "Strict", false},
		{"warn", "warn", "Warn", false},
		{"false is ignore", "false", "Ignore", false},
		{"ignore", "ignore", "Ignore", false},
		{"unknown", "maybe", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FieldValidation(tt.flag)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("FieldValidation(%q) = %q, %v", tt.flag, got, err)
			}
		})
	}
}
