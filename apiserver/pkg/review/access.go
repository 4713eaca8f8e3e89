package review

import (
	"net/http"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/authn"
	"navarch.dev/apiserver/pkg/authz"
	"navarch.dev/apiserver/pkg/endpoints"
)

func invalid(kind, name string, errs field.ErrorList) error {
	return apierrors.NewInvalid(schema.GroupKind{Group: "authorization.k8s.io", Kind: kind}, name, errs)
}

// validateAttributes checks that exactly one of the attribute kinds is set.
func validateAttributes(ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case ra == nil && nra == nil:
		errs = append(errs, field.Required(spec.Child("resourceAttributes"), "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
	case ra != nil && nra != nil:
		errs = append(errs, field.Invalid(spec.Child("nonResourceAttributes"), nra, `cannot be specified in combination with resourceAttributes`))
	}
	return errs
}

// validateSubjectSpec checks the spec of a review about another user.
func validateSubjectSpec(s *authorizationv1.SubjectAccessReviewSpec, spec *field.Path) field.ErrorList {
	errs := validateAttributes(s.ResourceAttributes, s.NonResourceAttributes, spec)
	if s.User == "" && len(s.Groups) == 0 {
		errs = append(errs, field.Invalid(spec.Child("user"), s.User, `at least one of user or group must be specified`))
	}
	return errs
}

// attributes turns a review's spec into authorizer attributes.
func attributes(u *authn.User, ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes) authz.Attributes {
	a := authz.Attributes{User: u}
	if ra != nil {
		a.Verb, a.Group, a.Version, a.Resource = ra.Verb, ra.Group, ra.Version, ra.Resource
		a.Subresource, a.Namespace, a.Name = ra.Subresource, ra.Namespace, ra.Name
		return a
	}
	a.Verb, a.Path = nra.Verb, nra.Path
	return a
}

// decide asks the authorizer.
func (rv *Reviews) decide(r *http.Request, a authz.Attributes) authorizationv1.SubjectAccessReviewStatus {
	d, reason, err := rv.Authorizer.Authorize(r.Context(), a)
	st := authorizationv1.SubjectAccessReviewStatus{Allowed: d == authz.Allow, Denied: d == authz.Deny, Reason: reason}
	if err != nil {
		st.Allowed, st.EvaluationError = false, err.Error()
	}
	return st
}

func userFromSpec(spec authorizationv1.SubjectAccessReviewSpec) *authn.User {
	u := &authn.User{Name: spec.User, UID: spec.UID, Groups: append([]string(nil), spec.Groups...)}
	if len(spec.Extra) > 0 {
		u.Extra = map[string][]string{}
		for k, v := range spec.Extra {
			u.Extra[k] = append([]string(nil), v...)
		}
	}
	return u
}

func (rv *Reviews) serveSubjectAccessReview(w http.ResponseWriter, r *http.Request, _ *endpoints.RequestInfo) {
	var sar authorizationv1.SubjectAccessReview
	if !decode(w, r, &sar, authorizationv1.SchemeGroupVersion.WithKind("SubjectAccessReview")) {
		return
	}
	spec := field.NewPath("spec")
	errs := validateSubjectSpec(&sar.Spec, spec)
	if len(errs) > 0 {
		endpoints.WriteError(w, invalid("SubjectAccessReview", sar.Name, errs))
		return
	}
	sar.Status = rv.decide(r, attributes(userFromSpec(sar.Spec), sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes))
	sar.TypeMeta = metav1.TypeMeta{Kind: "SubjectAccessReview", APIVersion: "authorization.k8s.io/v1"}
	endpoints.WriteJSON(w, http.StatusCreated, &sar)
}

func (rv *Reviews) serveLocalSubjectAccessReview(w http.ResponseWriter, r *http.Request, ri *endpoints.RequestInfo) {
	var sar authorizationv1.LocalSubjectAccessReview
	if !decode(w, r, &sar, authorizationv1.SchemeGroupVersion.WithKind("LocalSubjectAccessReview")) {
		return
	}
	spec := field.NewPath("spec")
	errs := validateSubjectSpec(&sar.Spec, spec)
	if sar.Spec.NonResourceAttributes != nil {
		errs = append(errs, field.Invalid(spec.Child("nonResourceAttributes"), sar.Spec.NonResourceAttributes, `disallowed on this kind of request`))
	}
	if ra := sar.Spec.ResourceAttributes; ra != nil && ra.Namespace != ri.Namespace {
		errs = append(errs, field.Invalid(spec.Child("resourceAttributes", "namespace"), ra.Namespace, `must match metadata.namespace`))
	}
	if sar.Namespace != "" && sar.Namespace != ri.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "namespace"), sar.Namespace, `must match the namespace of the request`))
	}
	if len(errs) > 0 {
		endpoints.WriteError(w, invalid("LocalSubjectAccessReview", sar.Name, errs))
		return
	}
	sar.Namespace = ri.Namespace
	sar.Status = rv.decide(r, attributes(userFromSpec(sar.Spec), sar.Spec.ResourceAttributes, nil))
	sar.TypeMeta = metav1.TypeMeta{Kind: "LocalSubjectAccessReview", APIVersion: "authorization.k8s.io/v1"}
	endpoints.WriteJSON(w, http.StatusCreated, &sar)
}

func (rv *Reviews) serveSelfSubjectAccessReview(w http.ResponseWriter, r *http.Request, _ *endpoints.RequestInfo) {
	var sar authorizationv1.SelfSubjectAccessReview
	if !decode(w, r, &sar, authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectAccessReview")) {
		return
	}
	if errs := validateAttributes(sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes, field.NewPath("spec")); len(errs) > 0 {
		endpoints.WriteError(w, invalid("SelfSubjectAccessReview", sar.Name, errs))
		return
	}
	u, ok := authn.UserFrom(r.Context())
	if !ok {
		endpoints.WriteError(w, apierrors.NewUnauthorized("no user"))
		return
	}
	sar.Status = rv.decide(r, attributes(u, sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes))
	sar.TypeMeta = metav1.TypeMeta{Kind: "SelfSubjectAccessReview", APIVersion: "authorization.k8s.io/v1"}
	endpoints.WriteJSON(w, http.StatusCreated, &sar)
}

func (rv *Reviews) serveSelfSubjectRulesReview(w http.ResponseWriter, r *http.Request, _ *endpoints.RequestInfo) {
	var rr authorizationv1.SelfSubjectRulesReview
	if !decode(w, r, &rr, authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectRulesReview")) {
		return
	}
	if rr.Spec.Namespace == "" {
		endpoints.WriteError(w, apierrors.NewBadRequest("no namespace on request"))
		return
	}
	u, ok := authn.UserFrom(r.Context())
	if !ok {
		endpoints.WriteError(w, apierrors.NewUnauthorized("no user"))
		return
	}
	rr.Status = authorizationv1.SubjectRulesReviewStatus{ResourceRules: []authorizationv1.ResourceRule{}, NonResourceRules: []authorizationv1.NonResourceRule{}, Incomplete: true}
	if resolver, ok := rv.Authorizer.(authz.RuleResolver); ok {
		res, nonRes, incomplete, err := resolver.RulesFor(r.Context(), u, rr.Spec.Namespace)
		rr.Status.ResourceRules = append(rr.Status.ResourceRules, res...)
		rr.Status.NonResourceRules = append(rr.Status.NonResourceRules, nonRes...)
		rr.Status.Incomplete = incomplete
		if err != nil {
			rr.Status.Incomplete, rr.Status.EvaluationError = true, err.Error()
		}
	}
	rr.TypeMeta = metav1.TypeMeta{Kind: "SelfSubjectRulesReview", APIVersion: "authorization.k8s.io/v1"}
	endpoints.WriteJSON(w, http.StatusCreated, &rr)
}
