package endpoints

import (
	"net/http"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// HandledResource is a resource with no store of its own, served by its own
// handler: the review kinds (TokenReview, SubjectAccessReview, ...) that only
// answer a create, and metrics.k8s.io, computed on each request. It appears in
// discovery like any other resource, with only its verbs.
type HandledResource struct {
	GroupVersion     schema.GroupVersion
	Plural, Singular string
	Kind             string
	Namespaced       bool
	Verbs            []string
	ShortNames       []string
	// Serve answers a request the API has parsed and authorized. Requests
	// for a verb not in Verbs get a 405 Status before reaching it.
	Serve func(w http.ResponseWriter, r *http.Request, ri *RequestInfo)
}

// Handle serves res. It must be called before the API serves requests.
func (a *API) Handle(res HandledResource) {
	if a.handled == nil {
		a.handled = map[schema.GroupVersionResource]*HandledResource{}
	}
	a.handled[res.GroupVersion.WithResource(res.Plural)] = &res
}

// serveHandled serves ri when it names a handled resource; false otherwise.
func (a *API) serveHandled(w http.ResponseWriter, r *http.Request, ri *RequestInfo) bool {
	res, ok := a.handled[ri.GroupVersion.WithResource(ri.Resource)]
	if !ok {
		return false
	}
	gr := schema.GroupResource{Group: ri.GroupVersion.Group, Resource: ri.Resource}
	// A namespaced resource is only listed across namespaces.
	acrossNamespaces := res.Namespaced && ri.Namespace == "" && ri.Verb != "list" && ri.Verb != "watch"
	if (!res.Namespaced && ri.Namespace != "") || acrossNamespaces || ri.Subresource != "" {
		WriteError(w, apierrors.NewNotFound(gr, ri.Name))
		return true
	}
	allowed := false
	for _, v := range res.Verbs {
		allowed = allowed || v == ri.Verb
	}
	if !allowed {
		WriteError(w, apierrors.NewMethodNotSupported(gr, ri.Verb))
		return true
	}
	if a.authorize != nil {
		if err := a.authorize(r, ri); err != nil {
			WriteError(w, err)
			return true
		}
	}
	if r.ContentLength > MaxRequestBodyBytes {
		WriteError(w, apierrors.NewRequestEntityTooLargeError("request body too large"))
		return true
	}
	res.Serve(w, r, ri)
	return true
}

// handledResources lists the handled resources of gv sorted by name.
func (a *API) handledResources(gv schema.GroupVersion) []metav1.APIResource {
	var out []metav1.APIResource
	for gvr, res := range a.handled {
		if gvr.GroupVersion() != gv {
			continue
		}
		out = append(out, metav1.APIResource{
			Name: res.Plural, SingularName: res.Singular, Namespaced: res.Namespaced, Kind: res.Kind,
			Verbs: metav1.Verbs(res.Verbs), ShortNames: res.ShortNames,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// WantsTable reports whether the request's Accept asks for a
// meta.k8s.io/v1 Table; an Accept this server cannot satisfy is a 406 error.
func WantsTable(r *http.Request) (bool, error) {
	out, _, ok := negotiate(r)
	if !ok {
		return false, notAcceptable(r.Header.Get("Accept"))
	}
	return out == outputTable, nil
}

// PartialMetadata is the PartialObjectMetadata of obj, the object a Table
// row carries by default.
var PartialMetadata = partialMetadata
