package rbac

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRoles(t *testing.T) {
	rule := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	tests := []struct {
		name  string
		rules []rbacv1.PolicyRule
		want  []string
	}{
		{name: "valid", rules: []rbacv1.PolicyRule{rule}},
		{name: "verbs required", rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}}},
			want: []string{"rules[0].verbs: Required value"}},
		{name: "resources required", rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}}},
			want: []string{"rules[0].resources: Required value"}},
		{name: "non-resource URL in a namespaced role", rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}},
			want: []string{"rules[0].nonResourceURLs: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "system:pod-reader", Namespace: "default"}, Rules: tt.rules}
			resourcetest.SameErrs(t, resourcetest.Create(roleStrategy, r), tt.want)
		})
	}
	t.Run("cluster role with non-resource URL", func(t *testing.T) {
		r := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "health"}, Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}}}
		resourcetest.SameErrs(t, resourcetest.Create(clusterRoleStrategy, r), nil)
	})
	t.Run("name with a slash", func(t *testing.T) {
		r := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "a/b"}}
		resourcetest.SameErrs(t, resourcetest.Create(clusterRoleStrategy, r), []string{"metadata.name: Invalid value"})
	})
}

func TestBindings(t *testing.T) {
	ref := rbacv1.RoleRef{Kind: "Role", Name: "pod-reader"}
	rb := func(ref rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "read-pods", Namespace: "default", ResourceVersion: "1"}, RoleRef: ref, Subjects: subjects}
	}
	user := rbacv1.Subject{Kind: rbacv1.UserKind, Name: "jane"}
	sa := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "builder"}
	t.Run("defaults", func(t *testing.T) {
		b := rb(ref, user, sa)
		if errs := resourcetest.Create(roleBindingStrategy, b); len(errs) > 0 {
			t.Fatal(errs)
		}
		if b.RoleRef.APIGroup != rbacv1.GroupName || b.Subjects[0].APIGroup != rbacv1.GroupName || b.Subjects[1].APIGroup != "" {
			t.Errorf("binding = %+v", b)
		}
	})
	tests := []struct {
		name string
		obj  *rbacv1.RoleBinding
		old  *rbacv1.RoleBinding
		want []string
	}{
		{name: "bad subject kind", obj: rb(ref, rbacv1.Subject{Kind: "Robot", Name: "r2"}), want: []string{"subjects[0].kind: Unsupported value"}},
		{name: "subject name required", obj: rb(ref, rbacv1.Subject{Kind: rbacv1.UserKind}), want: []string{"subjects[0].name: Required value"}},
		{name: "bad roleRef kind", obj: rb(rbacv1.RoleRef{Kind: "Pod", Name: "x"}), want: []string{"roleRef.kind: Unsupported value"}},
		{name: "roleRef is immutable", old: rb(ref, user), obj: rb(rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, user),
			want: []string{"roleRef: Invalid value"}},
		{name: "subjects may change", old: rb(ref, user), obj: rb(ref, user, sa)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.old == nil {
				resourcetest.SameErrs(t, resourcetest.Create(roleBindingStrategy, tt.obj), tt.want)
				return
			}
			resourcetest.Create(roleBindingStrategy, tt.old)
			resourcetest.SameErrs(t, resourcetest.Update(roleBindingStrategy, tt.obj, tt.old), tt.want)
		})
	}
	t.Run("cluster role binding", func(t *testing.T) {
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "x"}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "r"}, Subjects: []rbacv1.Subject{sa}}
		resourcetest.SameErrs(t, resourcetest.Create(clusterRoleBindingStrategy, crb), []string{"roleRef.kind: Unsupported value", "subjects[0].namespace: Required value"})
	})
}
