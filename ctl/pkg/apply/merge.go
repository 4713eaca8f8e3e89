// Package apply is client-side apply as kubectl does it: the configuration
// last applied is kept on the object in the
// kubectl.kubernetes.io/last-applied-configuration annotation, and applying a
// new configuration sends the three-way patch between that annotation
// (original), the new configuration (modified) and the live object
// (current). Fields the configuration never set — set by other clients or
// defaulted by the server — are left alone; fields it dropped are removed.
package apply

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/jsonmergepatch"
	"k8s.io/apimachinery/pkg/util/mergepatch"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes/scheme"
)

// LastAppliedAnnotation is the annotation holding the last applied
// configuration.
const LastAppliedAnnotation = corev1.LastAppliedConfigAnnotation

// encode is the JSON kubectl stores and compares: keys sorted (maps), one
// trailing newline.
func encode(obj *unstructured.Unstructured) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(obj.Object); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ModifiedConfiguration is the configuration obj represents: obj as JSON
// without a last-applied annotation (an empty annotations map stays, as
// kubectl leaves it). With annotate, the JSON also carries that
// configuration as its last-applied annotation, which is what a patch must
// set. obj is not changed.
func ModifiedConfiguration(obj *unstructured.Unstructured, annotate bool) ([]byte, error) {
	c := obj.DeepCopy()
	annots := c.GetAnnotations()
	if annots == nil {
		annots = map[string]string{}
	}
	delete(annots, LastAppliedAnnotation)
	c.SetAnnotations(annots)
	modified, err := encode(c)
	if err != nil || !annotate {
		return modified, err
	}
	annots[LastAppliedAnnotation] = string(modified)
	c.SetAnnotations(annots)
	return encode(c)
}

// SetLastApplied records obj's configuration in its last-applied
// annotation, as apply does for an object it creates (and create, replace
// and edit with --save-config).
func SetLastApplied(obj *unstructured.Unstructured) error {
	modified, err := ModifiedConfiguration(obj, false)
	if err != nil {
		return err
	}
	annots := obj.GetAnnotations()
	if annots == nil {
		annots = map[string]string{}
	}
	annots[LastAppliedAnnotation] = string(modified)
	obj.SetAnnotations(annots)
	return nil
}

// UpdateLastApplied refreshes obj's last-applied annotation if it has one.
func UpdateLastApplied(obj *unstructured.Unstructured) error {
	if _, ok := obj.GetAnnotations()[LastAppliedAnnotation]; !ok {
		return nil
	}
	return SetLastApplied(obj)
}

// OriginalConfiguration is the last-applied configuration recorded on a
// live object, nil if there is none.
func OriginalConfiguration(obj *unstructured.Unstructured) []byte {
	s, ok := obj.GetAnnotations()[LastAppliedAnnotation]
	if !ok {
		return nil
	}
	return []byte(s)
}

// ErrKeyChanged is the three-way JSON merge patch's refusal to change an
// object's identity.
var ErrKeyChanged = fmt.Errorf("At least one of apiVersion, kind and name was changed")

// ThreeWayPatch computes the patch that takes current to modified, removing
// what original set and modified no longer does. Kinds compiled into
// client-go's scheme get a strategic merge patch, with the patch strategy
// and merge keys of their k8s.io/api types (lists of containers merge by
// name); other kinds get a JSON merge patch. overwrite lets the patch
// replace values others changed since original. A patch of "{}" means no
// change.
func ThreeWayPatch(original, modified, current []byte, gvk schema.GroupVersionKind, overwrite bool) ([]byte, types.PatchType, error) {
	versioned, err := scheme.Scheme.New(gvk)
	switch {
	case runtime.IsNotRegisteredError(err):
		patch, err := jsonmergepatch.CreateThreeWayJSONMergePatch(original, modified, current,
			mergepatch.RequireKeyUnchanged("apiVersion"), mergepatch.RequireKeyUnchanged("kind"), mergepatch.RequireMetadataKeyUnchanged("name"))
		if preconditionFailed(err) {
			return nil, types.MergePatchType, ErrKeyChanged
		}
		return patch, types.MergePatchType, err
	case err != nil:
		return nil, "", err
	}
	meta, err := strategicpatch.NewPatchMetaFromStruct(versioned)
	if err != nil {
		return nil, "", err
	}
	patch, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, meta, overwrite)
	return patch, types.StrategicMergePatchType, err
}

// TwoWayPatch computes the patch from original to modified, as edit sends
// it: strategic for kinds compiled into client-go's scheme, JSON merge
// otherwise.
func TwoWayPatch(original, modified []byte, gvk schema.GroupVersionKind) ([]byte, types.PatchType, error) {
	versioned, err := scheme.Scheme.New(gvk)
	switch {
	case runtime.IsNotRegisteredError(err):
		patch, err := jsonmergepatch.CreateThreeWayJSONMergePatch(original, modified, original,
			mergepatch.RequireKeyUnchanged("apiVersion"), mergepatch.RequireKeyUnchanged("kind"), mergepatch.RequireMetadataKeyUnchanged("name"))
		if preconditionFailed(err) {
			return nil, types.MergePatchType, ErrKeyChanged
		}
		return patch, types.MergePatchType, err
	case err != nil:
		return nil, "", err
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(original, modified, versioned,
		mergepatch.RequireKeyUnchanged("apiVersion"), mergepatch.RequireKeyUnchanged("kind"), mergepatch.RequireMetadataKeyUnchanged("name"))
	if preconditionFailed(err) {
		return nil, types.StrategicMergePatchType, ErrKeyChanged
	}
	return patch, types.StrategicMergePatchType, err
}

// SetLastAppliedObject is SetLastApplied for any object. A typed object's
// configuration is its JSON in field order, as kubectl's generators (create
// deployment --save-config, ...) record it.
func SetLastAppliedObject(obj runtime.Object) error {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return SetLastApplied(u)
	}
	acc, err := apimeta.Accessor(obj)
	if err != nil {
		return err
	}
	annots := map[string]string{}
	for k, v := range acc.GetAnnotations() {
		if k != LastAppliedAnnotation {
			annots[k] = v
		}
	}
	acc.SetAnnotations(annots)
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(obj); err != nil {
		return err
	}
	annots[LastAppliedAnnotation] = buf.String()
	acc.SetAnnotations(annots)
	return nil
}

// Patch applies a patch of patchType to the JSON document original locally,
// as the server would: strategic merge patches need a kind compiled into
// client-go's scheme.
func Patch(original, patch []byte, patchType types.PatchType, gvk schema.GroupVersionKind) ([]byte, error) {
	switch patchType {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, err
		}
		return p.Apply(original)
	case types.MergePatchType:
		return jsonpatch.MergePatch(original, patch)
	case types.StrategicMergePatchType:
		versioned, err := scheme.Scheme.New(gvk)
		if err != nil {
			return nil, fmt.Errorf("strategic merge patch is not supported for %s locally, try --type merge", gvk.GroupKind())
		}
		return strategicpatch.StrategicMergePatch(original, patch, versioned)
	}
	return nil, fmt.Errorf("unsupported patch type %q", patchType)
}

// preconditionFailed recognizes a patch that would change apiVersion, kind
// or name (jsonmergepatch reports it as a plain error).
func preconditionFailed(err error) bool {
	return err != nil && (mergepatch.IsPreconditionFailed(err) || strings.HasPrefix(err.Error(), "precondition failed"))
}
