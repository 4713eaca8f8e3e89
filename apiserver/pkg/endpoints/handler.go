// Package endpoints serves the Kubernetes REST API over the registry: URL
// parsing, body decoding, content negotiation (JSON, Tables, partial object
// metadata), watch streaming, patches, subresources and discovery.
package endpoints

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/storage/watchcache"
	"navarch.dev/apiserver/pkg/tables"
)

// MaxRequestBodyBytes is the largest request body accepted (413 beyond).
const MaxRequestBodyBytes = 3 << 20

// Endpoint serves one resource: its description and the store holding its
// objects (another resource's store when the resource has a StorageVersion).
type Endpoint struct {
	Resource *registry.Resource
	Store    *registry.Store
}

// SubresourceHandler serves a subresource the generic code does not know
// (binding, eviction, log, exec, ...). It writes the response itself.
type SubresourceHandler func(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ep *Endpoint)

// Authorizer decides whether the request's user may do what ri names. A
// non-nil error is written to the client (403 Forbidden).
type Authorizer func(r *http.Request, ri *RequestInfo) error

// API is the resource half of the apiserver.
type API struct {
	endpoints       map[schema.GroupVersionResource]*Endpoint
	subresources    map[string]SubresourceHandler // "pods/binding"
	subresourceInfo map[string]SubresourceInfo
	handled         map[schema.GroupVersionResource]*HandledResource
	authorize       Authorizer
	observe         func(ri *RequestInfo, code int, d time.Duration)
	watchers        func(resource string, delta int)
	now             func() time.Time
	// MinRequestTimeout bounds watches without timeoutSeconds (randomised up to 2x).
	MinRequestTimeout time.Duration
}

// Options configure an API.
type Options struct {
	Authorize Authorizer
	// Observe is told of each finished request (metrics).
	Observe func(ri *RequestInfo, code int, d time.Duration)
	// Watchers is told when a watch starts (+1) and ends (-1).
	Watchers func(resource string, delta int)
}

// New returns an API serving the endpoints.
func New(eps []*Endpoint, opts Options) *API {
	a := &API{
		endpoints:         map[schema.GroupVersionResource]*Endpoint{},
		subresources:      map[string]SubresourceHandler{},
		authorize:         opts.Authorize,
		observe:           opts.Observe,
		watchers:          opts.Watchers,
		now:               time.Now,
		MinRequestTimeout: 30 * time.Minute,
	}
	for _, ep := range eps {
		a.endpoints[ep.Resource.GroupVersionResource()] = ep
	}
	return a
}

// Endpoints returns the served endpoints sorted by group, version and resource.
func (a *API) Endpoints() []*Endpoint {
	out := make([]*Endpoint, 0, len(a.endpoints))
	for _, ep := range a.endpoints {
		out = append(out, ep)
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i].Resource, out[j].Resource
		if x.GroupVersion.Group != y.GroupVersion.Group {
			return x.GroupVersion.Group < y.GroupVersion.Group
		}
		if x.GroupVersion.Version != y.GroupVersion.Version {
			return x.GroupVersion.Version < y.GroupVersion.Version
		}
		return x.Plural < y.Plural
	})
	return out
}

// Lookup returns the endpoint of gvr.
func (a *API) Lookup(gvr schema.GroupVersionResource) (*Endpoint, bool) {
	ep, ok := a.endpoints[gvr]
	return ep, ok
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// ServeHTTP serves resource URLs; anything else is a 404 Status.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	q := r.URL.Query()
	ri, ok, err := ParseRequestInfo(r.Method, r.URL.Path, isTrue(q.Get("watch")))
	if !ok {
		WriteError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
		return
	}
	if err != nil {
		WriteError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		if a.observe != nil {
			a.observe(ri, rec.code, time.Since(start))
		}
	}()
	w = rec
	if a.serveHandled(w, r, ri) {
		return
	}
	ep, found := a.endpoints[ri.GroupVersion.WithResource(ri.Resource)]
	if !found {
		WriteError(w, apierrors.NewNotFound(schema.GroupResource{Group: ri.GroupVersion.Group, Resource: ri.Resource}, ri.Name))
		return
	}
	if !ep.Resource.Namespaced && ri.Namespace != "" && ri.Resource != "namespaces" {
		WriteError(w, apierrors.NewNotFound(schema.GroupResource{Group: ri.GroupVersion.Group, Resource: ri.Resource}, ri.Name))
		return
	}
	if a.authorize != nil {
		if err := a.authorize(r, ri); err != nil {
			WriteError(w, err)
			return
		}
	}
	if r.ContentLength > MaxRequestBodyBytes {
		WriteError(w, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", MaxRequestBodyBytes)))
		return
	}
	if ri.Subresource != "" {
		a.serveSubresource(w, r, ri, ep)
		return
	}
	switch ri.Verb {
	case "get":
		a.get(w, r, ri, ep)
	case "list":
		a.list(w, r, ri, ep)
	case "watch":
		a.watch(w, r, ri, ep)
	case "create":
		if ri.Name != "" {
			WriteError(w, apierrors.NewMethodNotSupported(ep.Store.Resource.GroupVersionResource().GroupResource(), "create"))
			return
		}
		a.create(w, r, ri, ep)
	case "update":
		a.update(w, r, ri, ep, "")
	case "patch":
		a.patch(w, r, ri, ep, "")
	case "delete":
		a.delete(w, r, ri, ep)
	case "deletecollection":
		a.deleteCollection(w, r, ri, ep)
	}
}

func (a *API) serveSubresource(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ep *Endpoint) {
	if h, ok := a.subresources[ri.Resource+"/"+ri.Subresource]; ok {
		h(w, r, ri, ep)
		return
	}
	res := ep.Resource
	switch {
	case ri.Subresource == "status" && res.Status:
		switch ri.Verb {
		case "get":
			a.get(w, r, ri, ep)
		case "update":
			a.update(w, r, ri, ep, "status")
		case "patch":
			a.patch(w, r, ri, ep, "status")
		default:
			WriteError(w, apierrors.NewMethodNotSupported(res.GroupVersionResource().GroupResource(), ri.Verb))
		}
	case ri.Subresource == "scale" && res.Scale:
		a.serveScale(w, r, ri, ep)
	default:
		WriteError(w, apierrors.NewNotFound(res.GroupVersionResource().GroupResource(), ri.Name))
	}
}

// readBody reads the request body up to the limit.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("reading request body: %v", err))
	}
	if len(b) > MaxRequestBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", MaxRequestBodyBytes))
	}
	return b, nil
}

func isTrue(s string) bool { return s == "true" || s == "1" }

// dryRun reads the dryRun parameter: only "All" is valid.
func dryRun(r *http.Request) (bool, error) {
	vals := r.URL.Query()["dryRun"]
	for _, v := range vals {
		if v != "All" {
			return false, apierrors.NewBadRequest(fmt.Sprintf("Invalid dry run value: %q, supported values: [All]", v))
		}
	}
	return len(vals) > 0, nil
}

// toServed converts a stored object to the endpoint's served type.
func (ep *Endpoint) toServed(obj runtime.Object) (runtime.Object, error) {
	if ep.Resource.Storage == nil {
		return obj, nil
	}
	out, err := ep.Resource.Storage.FromStorage(obj)
	if err != nil {
		return nil, err
	}
	out.GetObjectKind().SetGroupVersionKind(ep.Resource.GroupVersionKind())
	return out, nil
}

// toStored converts a served object to the stored type.
func (ep *Endpoint) toStored(obj runtime.Object) (runtime.Object, error) {
	if ep.Resource.Storage == nil {
		return obj, nil
	}
	return ep.Resource.Storage.ToStorage(obj)
}

// writeObject writes one object in the negotiated representation.
func (a *API) writeObject(w http.ResponseWriter, r *http.Request, ep *Endpoint, code int, obj runtime.Object) {
	served, err := ep.toServed(obj)
	if err != nil {
		WriteError(w, apierrors.NewInternalError(err))
		return
	}
	out, proto, ok := negotiate(r)
	if !ok {
		WriteError(w, notAcceptable(r.Header.Get("Accept")))
		return
	}
	switch out {
	case outputTable:
		t, err := a.table([]runtime.Object{served}, r, ep, false)
		if err != nil {
			WriteError(w, err)
			return
		}
		t.ResourceVersion = metaOf(served).GetResourceVersion()
		WriteJSON(w, code, t)
	case outputMetadata:
		if proto {
			writeProtobuf(w, code, partialMetadata(served))
			return
		}
		WriteJSON(w, code, partialMetadata(served))
	default:
		served.GetObjectKind().SetGroupVersionKind(ep.Resource.GroupVersionKind())
		if proto {
			writeProtobuf(w, code, served)
			return
		}
		WriteJSON(w, code, served)
	}
}

func metaOf(obj runtime.Object) metav1.Object {
	m, _ := meta.Accessor(obj)
	return m
}

func partialMetadata(obj runtime.Object) *metav1.PartialObjectMetadata {
	m := metaOf(obj)
	pm := &metav1.PartialObjectMetadata{}
	pm.Kind, pm.APIVersion = "PartialObjectMetadata", "meta.k8s.io/v1"
	if om := reflect.ValueOf(obj).Elem().FieldByName("ObjectMeta"); om.IsValid() {
		pm.ObjectMeta = om.Interface().(metav1.ObjectMeta)
	} else {
		pm.Name, pm.Namespace, pm.UID = m.GetName(), m.GetNamespace(), m.GetUID()
		pm.ResourceVersion, pm.CreationTimestamp = m.GetResourceVersion(), m.GetCreationTimestamp()
		pm.Labels, pm.Annotations = m.GetLabels(), m.GetAnnotations()
	}
	return pm
}

// table renders objects as a Table, with the columns of the endpoint's kind.
func (a *API) table(objs []runtime.Object, r *http.Request, ep *Endpoint, noHeaders bool) (*metav1.Table, error) {
	gk := ep.Resource.GroupVersionKind().GroupKind()
	t := &metav1.Table{}
	t.Kind, t.APIVersion = "Table", "meta.k8s.io/v1"
	if !noHeaders {
		t.ColumnDefinitions = tables.Columns(gk)
	}
	include := r.URL.Query().Get("includeObject")
	now := a.now()
	t.Rows = make([]metav1.TableRow, 0, len(objs))
	for _, obj := range objs {
		cells, err := tables.Cells(obj, now)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		row := metav1.TableRow{Cells: cells}
		// RawExtension encodes only Raw, so the row's object is encoded here.
		var embed any
		switch include {
		case "None":
		case "Object":
			obj.GetObjectKind().SetGroupVersionKind(ep.Resource.GroupVersionKind())
			embed = obj
		default:
			embed = partialMetadata(obj)
		}
		if embed != nil {
			raw, err := json.Marshal(embed)
			if err != nil {
				return nil, apierrors.NewInternalError(err)
			}
			row.Object = runtime.RawExtension{Raw: raw}
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ep *Endpoint) {
	obj, err := ep.Store.Get(r.Context(), ri.Namespace, ri.Name, r.URL.Query().Get("resourceVersion"))
	if err != nil {
		WriteError(w, a.renameNotFound(err, ep, ri.Name))
		return
	}
	a.writeObject(w, r, ep, http.StatusOK, obj)
}

// renameNotFound reports a NotFound with the served resource's name (the store
// may be another resource's).
func (a *API) renameNotFound(err error, ep *Endpoint, name string) error {
	if apierrors.IsNotFound(err) && ep.Resource.Storage != nil {
		return apierrors.NewNotFound(ep.Resource.GroupVersionResource().GroupResource(), name)
	}
	return err
}

// listOptions reads the list and watch query parameters.
func (a *API) listOptions(r *http.Request, ri *RequestInfo, ep *Endpoint) (registry.ListOptions, error) {
	q := r.URL.Query()
	opts := registry.ListOptions{
		Namespace:            ri.Namespace,
		ResourceVersion:      q.Get("resourceVersion"),
		ResourceVersionMatch: metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")),
		Continue:             q.Get("continue"),
	}
	if s := q.Get("labelSelector"); s != "" {
		sel, err := labels.Parse(s)
		if err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		opts.LabelSelector = sel
	}
	if s := q.Get("fieldSelector"); s != "" {
		sel, err := fields.ParseSelector(s)
		if err != nil {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
		}
		if err := ep.Store.ValidateFieldSelector(sel); err != nil {
			return opts, err
		}
		opts.FieldSelector = sel
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid limit: %q", s))
		}
		opts.Limit = n
	}
	if s := q.Get("sendInitialEvents"); s != "" {
		b := isTrue(s)
		opts.SendInitialEvents = &b
	}
	return opts, nil
}

func (a *API) list(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ep *Endpoint) {
	opts, err := a.listOptions(r, ri, ep)
	if err != nil {
		WriteError(w, err)
		return
	}
	res, err := ep.Store.List(r.Context(), opts)
	if err != nil {
		WriteError(w, err)
		return
	}
	out, proto, ok := negotiate(r)
	if !ok {
		WriteError(w, notAcceptable(r.Header.Get("Accept")))
		return
	}
	lm := metav1.ListMeta{ResourceVersion: strconv.FormatInt(res.Revision, 10), Continue: res.Continue, RemainingItemCount: res.RemainingItemCount}
	switch out {
	case outputTable:
		objs := make([]runtime.Object, 0, len(res.Items))
		for _, o := range res.Items {
			s, err := ep.toServed(o.Obj)
			if err != nil {
				WriteError(w, apierrors.NewInternalError(err))
				return
			}
			objs = append(objs, s)
		}
		t, err := a.table(objs, r, ep, false)
		if err != nil {
			WriteError(w, err)
			return
		}
		t.ListMeta = lm
		WriteJSON(w, http.StatusOK, t)
	case outputMetadata:
		l := &metav1.PartialObjectMetadataList{ListMeta: lm}
		l.Kind, l.APIVersion = "PartialObjectMetadataList", "meta.k8s.io/v1"
		l.Items = make([]metav1.PartialObjectMetadata, 0, len(res.Items))
		for _, o := range res.Items {
			l.Items = append(l.Items, *partialMetadata(o.Obj))
		}
		if proto {
			writeProtobuf(w, http.StatusOK, l)
			return
		}
		WriteJSON(w, http.StatusOK, l)
	default:
		if proto {
			a.writeProtobufList(w, ep, lm, res.Items)
			return
		}
		a.writeList(w, ep, lm, res.Items)
	}
}

// writeList writes a typed list, reusing each cached object's encoding.
func (a *API) writeList(w http.ResponseWriter, ep *Endpoint, lm metav1.ListMeta, items []*watchcache.Object) {
	gv := ep.Resource.GroupVersion.String()
	head, _ := json.Marshal(struct {
		Kind       string          `json:"kind"`
		APIVersion string          `json:"apiVersion"`
		Metadata   metav1.ListMeta `json:"metadata"`
	}{ep.Resource.ListKind, gv, lm})
	var buf strings.Builder
	buf.Write(head[:len(head)-1])
	buf.WriteString(`,"items":[`)
	for i, o := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := ep.encodeCached(o)
		if err != nil {
			WriteError(w, apierrors.NewInternalError(err))
			return
		}
		buf.Write(b)
	}
	buf.WriteString("]}")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, buf.String())
}

// writeProtobufList writes a typed list in protobuf.
func (a *API) writeProtobufList(w http.ResponseWriter, ep *Endpoint, lm metav1.ListMeta, items []*watchcache.Object) {
	list := ep.Resource.NewList()
	objs := make([]runtime.Object, 0, len(items))
	for _, o := range items {
		s, err := ep.toServed(o.Obj)
		if err != nil {
			WriteError(w, apierrors.NewInternalError(err))
			return
		}
		objs = append(objs, s)
	}
	if err := meta.SetList(list, objs); err != nil {
		WriteError(w, apierrors.NewInternalError(err))
		return
	}
	if la, err := meta.ListAccessor(list); err == nil {
		la.SetResourceVersion(lm.ResourceVersion)
		la.SetContinue(lm.Continue)
		la.SetRemainingItemCount(lm.RemainingItemCount)
	}
	list.GetObjectKind().SetGroupVersionKind(ep.Resource.GroupVersion.WithKind(ep.Resource.ListKind))
	writeProtobuf(w, http.StatusOK, list)
}

// encodeCached returns the served JSON of a cached object, computed once.
func (ep *Endpoint) encodeCached(o *watchcache.Object) ([]byte, error) {
	if ep.Resource.Storage != nil {
		s, err := ep.toServed(o.Obj)
		if err != nil {
			return nil, err
		}
		return json.Marshal(s)
	}
	return o.JSON(func(obj runtime.Object) ([]byte, error) { return json.Marshal(obj) })
}
