package integration

import (
	"slices"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAccessReviews(t *testing.T) {
	ctx := testContext(t)
	authz := shared.Client.AuthorizationV1()
	ra := &authorizationv1.ResourceAttributes{Namespace: "default", Verb: "get", Resource: "pods", Name: "x"}

	sar, err := authz.SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: "jane", Groups: []string{"devs"}, ResourceAttributes: ra,
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SubjectAccessReview: %v", err)
	}
	// The server runs --authorization-mode=AlwaysAllow.
	if !sar.Status.Allowed || sar.Status.Denied {
		t.Errorf("SubjectAccessReview status = %+v, want allowed", sar.Status)
	}
	if sar.Spec.User != "jane" || sar.Spec.ResourceAttributes.Resource != "pods" {
		t.Errorf("SubjectAccessReview spec not echoed: %+v", sar.Spec)
	}
	nonRes, err := authz.SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: "jane", NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/healthz", Verb: "get"},
	}}, metav1.CreateOptions{})
	if err != nil || !nonRes.Status.Allowed {
		t.Errorf("non-resource SubjectAccessReview: %+v, %v", nonRes, err)
	}

	ssar, err := authz.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: ra}}, metav1.CreateOptions{})
	if err != nil || !ssar.Status.Allowed {
		t.Errorf("SelfSubjectAccessReview: %+v, %v", ssar, err)
	}
	lsar, err := authz.LocalSubjectAccessReviews("default").Create(ctx, &authorizationv1.LocalSubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: "jane", ResourceAttributes: ra}}, metav1.CreateOptions{})
	if err != nil || !lsar.Status.Allowed {
		t.Errorf("LocalSubjectAccessReview: %+v, %v", lsar, err)
	}

	rules, err := authz.SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "default"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectRulesReview: %v", err)
	}
	if rules.Status.Incomplete || len(rules.Status.ResourceRules) != 1 || !slices.Equal(rules.Status.ResourceRules[0].Verbs, []string{"*"}) || !slices.Equal(rules.Status.ResourceRules[0].Resources, []string{"*"}) {
		t.Errorf("SelfSubjectRulesReview status = %+v, want everything (AlwaysAllow)", rules.Status)
	}
	if _, err := authz.SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{}, metav1.CreateOptions{}); !apierrors.IsBadRequest(err) {
		t.Errorf("SelfSubjectRulesReview without a namespace: err = %v, want 400", err)
	}

	bad := []struct {
		name string
		do   func() error
	}{
		{"no attributes", func() error {
			_, err := authz.SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: "jane"}}, metav1.CreateOptions{})
			return err
		}},
		{"no user or group", func() error {
			_, err := authz.SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: ra}}, metav1.CreateOptions{})
			return err
		}},
		{"both attribute kinds", func() error {
			_, err := authz.SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
				ResourceAttributes: ra, NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/", Verb: "get"},
			}}, metav1.CreateOptions{})
			return err
		}},
		{"local review for another namespace", func() error {
			_, err := authz.LocalSubjectAccessReviews("kube-system").Create(ctx, &authorizationv1.LocalSubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: "jane", ResourceAttributes: ra}}, metav1.CreateOptions{})
			return err
		}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !apierrors.IsInvalid(err) {
				t.Errorf("err = %v, want 422 Invalid", err)
			}
		})
	}
}

func TestTokenReviewBadInput(t *testing.T) {
	ctx := testContext(t)
	_, err := shared.Client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("TokenReview without a token: err = %v, want 422", err)
	}
	err = shared.Client.AuthenticationV1().RESTClient().Post().AbsPath("/apis/authentication.k8s.io/v1/tokenreviews").
		Body([]byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"SubjectAccessReview","spec":{"token":"x"}}`)).Do(ctx).Error()
	if !apierrors.IsBadRequest(err) {
		t.Errorf("TokenReview body of another kind: err = %v, want 400", err)
	}
	err = shared.Client.AuthenticationV1().RESTClient().Post().AbsPath("/apis/authentication.k8s.io/v1/tokenreviews").
		Body([]byte(`{"spec":`)).Do(ctx).Error()
	if !apierrors.IsBadRequest(err) {
		t.Errorf("TokenReview of broken JSON: err = %v, want 400", err)
	}
	// An unknown token is not authenticated, and says nothing more.
	rev, err := shared.Client.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: "nobody-knows-me"}}, metav1.CreateOptions{})
	if err != nil || rev.Status.Authenticated || rev.Status.User.Username != "" {
		t.Errorf("TokenReview of an unknown token: %+v, %v", rev, err)
	}
}

func TestReviewDiscoveryAndVerbs(t *testing.T) {
	ctx := testContext(t)
	disc := shared.Client.Discovery()
	want := map[string][]string{
		"authentication.k8s.io/v1": {"selfsubjectreviews", "tokenreviews"},
		"authorization.k8s.io/v1":  {"localsubjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews"},
	}
	for gv, names := range want {
		list, err := disc.ServerResourcesForGroupVersion(gv)
		if err != nil {
			t.Fatalf("discovery of %s: %v", gv, err)
		}
		var got []string
		for _, r := range list.APIResources {
			got = append(got, r.Name)
			if !slices.Equal(r.Verbs, metav1.Verbs{"create"}) {
				t.Errorf("%s %s verbs = %v, want [create]", gv, r.Name, r.Verbs)
			}
		}
		if !slices.Equal(got, names) {
			t.Errorf("%s resources = %v, want %v", gv, got, names)
		}
	}
	core, err := disc.ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range core.APIResources {
		if r.Name == "serviceaccounts/token" {
			found = r.Group == "authentication.k8s.io" && r.Kind == "TokenRequest" && slices.Equal(r.Verbs, metav1.Verbs{"create"})
		}
	}
	if !found {
		t.Error("discovery lacks serviceaccounts/token (authentication.k8s.io TokenRequest, create)")
	}
	// Reviews are not stored: listing them is a 405.
	err = shared.Client.AuthorizationV1().RESTClient().Get().AbsPath("/apis/authorization.k8s.io/v1/subjectaccessreviews").Do(ctx).Error()
	if !apierrors.IsMethodNotSupported(err) {
		t.Errorf("list subjectaccessreviews: err = %v, want 405", err)
	}
}
