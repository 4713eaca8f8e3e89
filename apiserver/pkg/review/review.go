// Package review answers the review kinds, which are created and never
// stored: authentication.k8s.io TokenReview (who does this token belong
// to?) and SelfSubjectReview (who am I?), and authorization.k8s.io
// SubjectAccessReview, LocalSubjectAccessReview and SelfSubjectAccessReview
// (may this user do this?) and SelfSubjectRulesReview (what may I do?), decided by the server's authorizer so that any
// mode plugged into it (RBAC, Node) answers here too.
package review

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/authn"
	"navarch.dev/apiserver/pkg/authz"
	"navarch.dev/apiserver/pkg/endpoints"
)

// TokenAuthenticator finds the user of a bearer token for one of audiences
// (the server's own when empty). It returns the audiences the token is
// good for; ok is false when it does not know the token.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string, audiences []string) (u *authn.User, matched []string, ok bool, err error)
}

// Tokens tries each authenticator in order; the first that knows the token decides.
type Tokens []TokenAuthenticator

// AuthenticateToken implements TokenAuthenticator.
func (t Tokens) AuthenticateToken(ctx context.Context, token string, audiences []string) (*authn.User, []string, bool, error) {
	var firstErr error
	for _, a := range t {
		u, aud, ok, err := a.AuthenticateToken(ctx, token, audiences)
		if ok {
			return u, aud, true, nil
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return nil, nil, false, firstErr
}

// StaticTokens makes the --token-auth-file table a TokenAuthenticator. Its
// tokens are not bound to audiences: they are good for every audience asked.
type StaticTokens struct{ Tokens *authn.Tokens }

// AuthenticateToken implements TokenAuthenticator.
func (s StaticTokens) AuthenticateToken(_ context.Context, token string, audiences []string) (*authn.User, []string, bool, error) {
	u, ok, err := s.Tokens.AuthenticateToken(token)
	if !ok || err != nil {
		return nil, nil, false, nil
	}
	return u, audiences, true, nil
}

// Reviews serves the review kinds.
type Reviews struct {
	Tokens     TokenAuthenticator
	Authorizer authz.Authorizer
	// APIAudiences are the server's audiences (a TokenReview without
	// audiences is checked for these).
	APIAudiences []string
}

// Register adds the review resources to api.
func (rv *Reviews) Register(api *endpoints.API) {
	authnGV := authenticationv1.SchemeGroupVersion
	authzGV := authorizationv1.SchemeGroupVersion
	create := []string{"create"}
	for _, res := range []endpoints.HandledResource{
		{GroupVersion: authnGV, Plural: "tokenreviews", Singular: "tokenreview", Kind: "TokenReview", Verbs: create, Serve: rv.serveTokenReview},
		{GroupVersion: authnGV, Plural: "selfsubjectreviews", Singular: "selfsubjectreview", Kind: "SelfSubjectReview", Verbs: create, Serve: rv.serveSelfSubjectReview},
		{GroupVersion: authzGV, Plural: "subjectaccessreviews", Singular: "subjectaccessreview", Kind: "SubjectAccessReview", Verbs: create, Serve: rv.serveSubjectAccessReview},
		{GroupVersion: authzGV, Plural: "localsubjectaccessreviews", Singular: "localsubjectaccessreview", Kind: "LocalSubjectAccessReview", Namespaced: true, Verbs: create, Serve: rv.serveLocalSubjectAccessReview},
		{GroupVersion: authzGV, Plural: "selfsubjectaccessreviews", Singular: "selfsubjectaccessreview", Kind: "SelfSubjectAccessReview", Verbs: create, Serve: rv.serveSelfSubjectAccessReview},
		{GroupVersion: authzGV, Plural: "selfsubjectrulesreviews", Singular: "selfsubjectrulesreview", Kind: "SelfSubjectRulesReview", Verbs: create, Serve: rv.serveSelfSubjectRulesReview},
	} {
		api.Handle(res)
	}
}

// decode reads the request body into obj, rejecting a body of another kind
// or version; on failure it writes the error and returns false.
func decode(w http.ResponseWriter, r *http.Request, obj runtime.Object, want schema.GroupVersionKind) bool {
	err := endpoints.DecodeBody(r, obj)
	if err == nil {
		got := obj.GetObjectKind().GroupVersionKind()
		switch {
		case got.Kind != "" && got.Kind != want.Kind:
			err = apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", got.Kind, want.Kind))
		case got.Version != "" && got.GroupVersion() != want.GroupVersion():
			err = apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", got.GroupVersion(), want.GroupVersion()))
		}
	}
	if err != nil {
		endpoints.WriteError(w, err)
		return false
	}
	return true
}

func (rv *Reviews) serveTokenReview(w http.ResponseWriter, r *http.Request, _ *endpoints.RequestInfo) {
	var tr authenticationv1.TokenReview
	if !decode(w, r, &tr, authenticationv1.SchemeGroupVersion.WithKind("TokenReview")) {
		return
	}
	if tr.Spec.Token == "" {
		endpoints.WriteError(w, apierrors.NewInvalid(schema.GroupKind{Group: "authentication.k8s.io", Kind: "TokenReview"}, tr.Name,
			field.ErrorList{field.Required(field.NewPath("spec", "token"), "")}))
		return
	}
	audiences := tr.Spec.Audiences
	if len(audiences) == 0 {
		audiences = rv.APIAudiences
	}
	u, matched, ok, err := rv.Tokens.AuthenticateToken(r.Context(), tr.Spec.Token, audiences)
	tr.Status = authenticationv1.TokenReviewStatus{}
	switch {
	case ok:
		tr.Status.Authenticated = true
		tr.Status.User = userInfo(u)
		tr.Status.Audiences = matched
	case err != nil:
		// The reason, in the list form of upstream's union of authenticators.
		tr.Status.Error = "[invalid bearer token, " + err.Error() + "]"
	}
	tr.Spec.Token = ""
	tr.TypeMeta = metav1.TypeMeta{Kind: "TokenReview", APIVersion: "authentication.k8s.io/v1"}
	tr.CreationTimestamp = metav1.Time{}
	endpoints.WriteJSON(w, http.StatusCreated, &tr)
}

// userInfo is u with the system:authenticated group an authenticated
// request carries.
func userInfo(u *authn.User) authenticationv1.UserInfo {
	ui := authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: append([]string(nil), u.Groups...)}
	hasAuthenticated := false
	for _, g := range ui.Groups {
		hasAuthenticated = hasAuthenticated || g == authn.GroupAuthenticated
	}
	if !hasAuthenticated && u.Name != authn.UserAnonymous {
		ui.Groups = append(ui.Groups, authn.GroupAuthenticated)
	}
	if len(u.Extra) > 0 {
		ui.Extra = map[string]authenticationv1.ExtraValue{}
		keys := make([]string, 0, len(u.Extra))
		for k := range u.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ui.Extra[k] = append(authenticationv1.ExtraValue(nil), u.Extra[k]...)
		}
	}
	return ui
}

func (rv *Reviews) serveSelfSubjectReview(w http.ResponseWriter, r *http.Request, _ *endpoints.RequestInfo) {
	var ssr authenticationv1.SelfSubjectReview
	if !decode(w, r, &ssr, authenticationv1.SchemeGroupVersion.WithKind("SelfSubjectReview")) {
		return
	}
	u, ok := authn.UserFrom(r.Context())
	if !ok {
		endpoints.WriteError(w, apierrors.NewUnauthorized("no user"))
		return
	}
	ssr.TypeMeta = metav1.TypeMeta{Kind: "SelfSubjectReview", APIVersion: "authentication.k8s.io/v1"}
	ssr.CreationTimestamp = metav1.Now()
	ssr.Status.UserInfo = userInfo(u)
	endpoints.WriteJSON(w, http.StatusCreated, &ssr)
}
