package endpoints

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	kjson "sigs.k8s.io/json"

	"navarch.dev/apiserver/pkg/registry"
)

// decodeWrite reads what create and update share: the dryRun parameter and
// the body, decoded and converted to the stored type.
func decodeWrite(w http.ResponseWriter, r *http.Request, ep *Endpoint) (runtime.Object, bool, error) {
	dry, err := dryRun(r)
	if err != nil {
		return nil, false, err
	}
	obj, err := decodeBody(w, r, ep)
	if err != nil {
		return nil, false, err
	}
	stored, err := ep.toStored(obj)
	if err != nil {
		return nil, false, apierrors.NewBadRequest(err.Error())
	}
	return stored, dry, nil
}

func (a *API) create(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ep *Endpoint) {
	stored, dry, err := decodeWrite(w, r, ep)
	if err != nil {
		WriteError(w, err)
		return
	}
	out, err := ep.Store.Create(r.Context(), ri.Namespace, stored, registry.WriteOptions{DryRun: dry})
	if err != nil {
		WriteError(w, err)
		return
	}
	a.writeObject(w, r, ep, http.StatusCreated, out)
}

func (a *API) update(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ep *Endpoint, sub string) {
	stored, dry, err := decodeWrite(w, r, ep)
	if err != nil {
		WriteError(w, err)
		return
	}
	if m := metaOf(stored); m.GetName() != ri.Name {
		WriteError(w, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), ri.Name)))
		return
	}
	allowCreate := sub == "" && allowCreateOnUpdate[ep.Resource.Plural]
	out, created, err := ep.Store.Update(r.Context(), ri.Namespace, ri.Name, func(cur runtime.Object) (runtime.Object, error) {
		return stored.DeepCopyObject(), nil
	}, registry.UpdateOptions{WriteOptions: registry.WriteOptions{DryRun: dry}, Subresource: sub, AllowCreate: allowCreate})
	if err != nil {
		WriteError(w, a.renameNotFound(err, ep, ri.Name))
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	a.writeObject(w, r, ep, code, out)
}

// allowCreateOnUpdate lists the resources a PUT may create, as upstream allows.
var allowCreateOnUpdate = map[string]bool{"endpoints": true, "leases": true, "events": true}

// patchTypes are the PATCH content types served.
const (
	jsonPatchType      = "application/json-patch+json"
	mergePatchType     = "application/merge-patch+json"
	strategicPatchType = "application/strategic-merge-patch+json"
	applyPatchType     = "application/apply-patch+yaml"
)

func (a *API) patch(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ep *Endpoint, sub string) {
	dry, err := dryRun(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	mode, err := fieldValidation(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	ct := r.Header.Get("Content-Type")
	if i := strings.Index(ct, ";"); i >= 0 {
		ct = ct[:i]
	}
	switch ct {
	case jsonPatchType, mergePatchType, strategicPatchType:
	case applyPatchType:
		WriteError(w, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "patch", ep.Resource.GroupVersionResource().GroupResource(), ri.Name, "server-side apply is not supported by this server; use client-side apply", 0, false))
		return
	default:
		WriteError(w, unsupportedMediaType(ct))
		return
	}
	patch, err := readBody(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	if ct == jsonPatchType {
		if _, err := jsonpatch.DecodePatch(patch); err != nil {
			WriteError(w, apierrors.NewBadRequest(fmt.Sprintf("the server rejected our request due to an error in our request: %v", err)))
			return
		}
	} else if !json.Valid(patch) {
		WriteError(w, apierrors.NewBadRequest("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"))
		return
	}
	out, _, err := ep.Store.Update(r.Context(), ri.Namespace, ri.Name, func(cur runtime.Object) (runtime.Object, error) {
		served, err := ep.toServed(cur)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		served.GetObjectKind().SetGroupVersionKind(ep.Resource.GroupVersionKind())
		curJSON, err := json.Marshal(served)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		patched, err := applyPatch(ct, curJSON, patch, ep.Resource.New())
		if err != nil {
			return nil, err
		}
		obj := ep.Resource.New()
		if err := decodeInto(w, patched, obj, mode); err != nil {
			return nil, err
		}
		if err := checkKind(obj, ep.Resource.GroupVersionKind()); err != nil {
			return nil, err
		}
		// A patch that does not name a resourceVersion applies to whatever is
		// current; one that does is a precondition.
		if !patchSetsRV(ct, patch) {
			metaOf(obj).SetResourceVersion("")
		}
		return ep.toStored(obj)
	}, registry.UpdateOptions{WriteOptions: registry.WriteOptions{DryRun: dry}, Subresource: sub})
	if err != nil {
		WriteError(w, a.renameNotFound(err, ep, ri.Name))
		return
	}
	a.writeObject(w, r, ep, http.StatusOK, out)
}

func patchSetsRV(ct string, patch []byte) bool {
	if ct == jsonPatchType {
		return strings.Contains(string(patch), "/metadata/resourceVersion")
	}
	var p struct {
		Metadata *struct {
			ResourceVersion *string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	return kjson.UnmarshalCaseSensitivePreserveInts(patch, &p) == nil && p.Metadata != nil && p.Metadata.ResourceVersion != nil && *p.Metadata.ResourceVersion != ""
}

func applyPatch(ct string, cur, patch []byte, schema runtime.Object) ([]byte, error) {
	var out []byte
	var err error
	switch ct {
	case jsonPatchType:
		p, derr := jsonpatch.DecodePatch(patch)
		if derr != nil {
			return nil, apierrors.NewBadRequest(derr.Error())
		}
		out, err = p.Apply(cur)
	case mergePatchType:
		out, err = jsonpatch.MergePatch(cur, patch)
	case strategicPatchType:
		out, err = strategicpatch.StrategicMergePatch(cur, patch, schema)
	}
	if err != nil {
		// A patch that cannot be applied to the object is 422, as upstream.
		return nil, &apierrors.StatusError{ErrStatus: metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusUnprocessableEntity,
			Reason: metav1.StatusReasonInvalid, Message: err.Error(),
		}}
	}
	return out, nil
}

func (a *API) delete(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ep *Endpoint) {
	opts, err := deleteOptions(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	obj, immediate, err := ep.Store.Delete(r.Context(), ri.Namespace, ri.Name, opts)
	if err != nil {
		WriteError(w, a.renameNotFound(err, ep, ri.Name))
		return
	}
	if immediate && !returnDeletedObject[ep.Resource.Plural] {
		m := metaOf(obj)
		gr := ep.Resource.GroupVersionResource().GroupResource()
		WriteJSON(w, http.StatusOK, &metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   metav1.StatusSuccess,
			Details:  &metav1.StatusDetails{Name: m.GetName(), Group: gr.Group, Kind: gr.Resource, UID: m.GetUID()},
		})
		return
	}
	a.writeObject(w, r, ep, http.StatusOK, obj)
}

// returnDeletedObject lists the resources whose DELETE answers with the object.
var returnDeletedObject = map[string]bool{"pods": true, "namespaces": true, "persistentvolumes": true, "persistentvolumeclaims": true}

// deleteOptions reads DeleteOptions from the body or the query.
func deleteOptions(r *http.Request) (registry.DeleteOptions, error) {
	var do metav1.DeleteOptions
	body, err := readBody(r)
	if err != nil {
		return registry.DeleteOptions{}, err
	}
	if isProtobuf(r.Header.Get("Content-Type")) && len(body) > 0 {
		if err := decodeProtobuf(body, &do); err != nil {
			return registry.DeleteOptions{}, err
		}
	} else if len(strings.TrimSpace(string(body))) > 0 {
		if err := kjson.UnmarshalCaseSensitivePreserveInts(body, &do); err != nil {
			return registry.DeleteOptions{}, apierrors.NewBadRequest(fmt.Sprintf("invalid DeleteOptions: %v", err))
		}
	}
	q := r.URL.Query()
	if s := q.Get("gracePeriodSeconds"); s != "" {
		var n int64
		if _, err := fmt.Sscan(s, &n); err != nil {
			return registry.DeleteOptions{}, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds %q", s))
		}
		do.GracePeriodSeconds = &n
	}
	if s := q.Get("propagationPolicy"); s != "" {
		p := metav1.DeletionPropagation(s)
		do.PropagationPolicy = &p
	}
	if s := q.Get("orphanDependents"); s != "" {
		b := isTrue(s)
		do.OrphanDependents = &b
	}
	for _, v := range q["dryRun"] {
		do.DryRun = append(do.DryRun, v)
	}
	for _, v := range do.DryRun {
		if v != "All" {
			return registry.DeleteOptions{}, apierrors.NewBadRequest(fmt.Sprintf("Invalid dry run value: %q, supported values: [All]", v))
		}
	}
	if do.OrphanDependents != nil && do.PropagationPolicy != nil {
		return registry.DeleteOptions{}, apierrors.NewBadRequest("Only one of orphanDependents or propagationPolicy may be set")
	}
	if do.OrphanDependents != nil {
		p := metav1.DeletePropagationBackground
		if *do.OrphanDependents {
			p = metav1.DeletePropagationOrphan
		}
		do.PropagationPolicy = &p
	}
	if p := do.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationForeground, metav1.DeletePropagationBackground, metav1.DeletePropagationOrphan:
		default:
			return registry.DeleteOptions{}, apierrors.NewBadRequest(fmt.Sprintf("propagationPolicy: Unsupported value: %q: supported values: \"Foreground\", \"Background\", \"Orphan\"", *p))
		}
	}
	return registry.DeleteOptions{
		WriteOptions:       registry.WriteOptions{DryRun: len(do.DryRun) > 0},
		GracePeriodSeconds: do.GracePeriodSeconds,
		Preconditions:      do.Preconditions,
		PropagationPolicy:  do.PropagationPolicy,
	}, nil
}

func (a *API) deleteCollection(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ep *Endpoint) {
	opts, err := deleteOptions(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	lo, err := a.listOptions(r, ri, ep)
	if err != nil {
		WriteError(w, err)
		return
	}
	lo.Limit, lo.Continue = 0, ""
	res, err := ep.Store.List(r.Context(), lo)
	if err != nil {
		WriteError(w, err)
		return
	}
	list := ep.Resource.NewList()
	var items []runtime.Object
	for _, o := range res.Items {
		m := metaOf(o.Obj)
		obj, _, err := ep.Store.Delete(r.Context(), m.GetNamespace(), m.GetName(), opts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			WriteError(w, err)
			return
		}
		s, err := ep.toServed(obj)
		if err != nil {
			WriteError(w, apierrors.NewInternalError(err))
			return
		}
		items = append(items, s)
	}
	if err := setListItems(list, items); err != nil {
		WriteError(w, apierrors.NewInternalError(err))
		return
	}
	list.GetObjectKind().SetGroupVersionKind(ep.Resource.GroupVersion.WithKind(ep.Resource.ListKind))
	WriteJSON(w, http.StatusOK, list)
}
