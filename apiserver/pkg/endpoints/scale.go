package endpoints

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
)

// setListItems sets the Items of a typed list.
func setListItems(list runtime.Object, items []runtime.Object) error {
	return meta.SetList(list, items)
}

// scaleOf reads spec.replicas, status.replicas and the selector of a
// Deployment, ReplicaSet, StatefulSet or ReplicationController.
func scaleOf(obj runtime.Object) *autoscalingv1.Scale {
	m := metaOf(obj)
	s := &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
			ResourceVersion: m.GetResourceVersion(), CreationTimestamp: m.GetCreationTimestamp(),
		},
	}
	v := reflect.ValueOf(obj).Elem()
	spec, status := v.FieldByName("Spec"), v.FieldByName("Status")
	if r := spec.FieldByName("Replicas"); r.IsValid() {
		if r.Kind() == reflect.Pointer {
			if r.IsNil() {
				s.Spec.Replicas = 1
			} else {
				s.Spec.Replicas = int32(r.Elem().Int())
			}
		} else {
			s.Spec.Replicas = int32(r.Int())
		}
	}
	if r := status.FieldByName("Replicas"); r.IsValid() {
		s.Status.Replicas = int32(r.Int())
	}
	switch sel := spec.FieldByName("Selector").Interface().(type) {
	case *metav1.LabelSelector:
		if ls, err := metav1.LabelSelectorAsSelector(sel); err == nil && sel != nil {
			s.Status.Selector = ls.String()
		}
	case map[string]string:
		parts := make([]string, 0, len(sel))
		for k, val := range sel {
			parts = append(parts, k+"="+val)
		}
		sort.Strings(parts)
		s.Status.Selector = strings.Join(parts, ",")
	}
	return s
}

func setReplicas(obj runtime.Object, n int32) {
	r := reflect.ValueOf(obj).Elem().FieldByName("Spec").FieldByName("Replicas")
	if r.Kind() == reflect.Pointer {
		r.Set(reflect.ValueOf(&n))
	} else {
		r.SetInt(int64(n))
	}
}

// serveScale serves GET, PUT and PATCH of <resource>/<name>/scale.
func (a *API) serveScale(w http.ResponseWriter, r *http.Request, ri *RequestInfo, ep *Endpoint) {
	ctx := r.Context()
	switch ri.Verb {
	case "get":
		obj, err := ep.Store.Get(ctx, ri.Namespace, ri.Name, "")
		if err != nil {
			WriteError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, scaleOf(obj))
	case "update", "patch":
		dry, err := dryRun(r)
		if err != nil {
			WriteError(w, err)
			return
		}
		body, err := readBody(r)
		if err != nil {
			WriteError(w, err)
			return
		}
		ct := r.Header.Get("Content-Type")
		if i := strings.Index(ct, ";"); i >= 0 {
			ct = ct[:i]
		}
		out, _, err := ep.Store.Update(ctx, ri.Namespace, ri.Name, func(cur runtime.Object) (runtime.Object, error) {
			scale := scaleOf(cur)
			var next autoscalingv1.Scale
			if ri.Verb == "update" && isProtobuf(r.Header.Get("Content-Type")) {
				if err := decodeProtobuf(body, &next); err != nil {
					return nil, err
				}
			} else if ri.Verb == "update" {
				data, err := bodyJSON(r, body)
				if err != nil {
					return nil, err
				}
				if err := decodeInto(w, data, &next, "Warn"); err != nil {
					return nil, err
				}
			} else {
				curJSON, _ := json.Marshal(scale)
				patched, err := applyPatch(ct, curJSON, body, &autoscalingv1.Scale{})
				if err != nil {
					return nil, err
				}
				if err := decodeInto(w, patched, &next, "Warn"); err != nil {
					return nil, err
				}
				if next.ResourceVersion == scale.ResourceVersion {
					next.ResourceVersion = ""
				}
			}
			if next.Name != "" && next.Name != ri.Name {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", next.Name, ri.Name))
			}
			if next.Spec.Replicas < 0 {
				return nil, apierrors.NewInvalid(schema.GroupKind{Group: "autoscaling", Kind: "Scale"}, ri.Name, field.ErrorList{
					field.Invalid(field.NewPath("spec", "replicas"), next.Spec.Replicas, "must be greater than or equal to 0"),
				})
			}
			if next.ResourceVersion != "" && next.ResourceVersion != scale.ResourceVersion {
				return nil, apierrors.NewConflict(ep.Resource.GroupVersionResource().GroupResource(), ri.Name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
			}
			setReplicas(cur, next.Spec.Replicas)
			metaOf(cur).SetResourceVersion("")
			return cur, nil
		}, registry.UpdateOptions{WriteOptions: registry.WriteOptions{DryRun: dry}})
		if err != nil {
			WriteError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, scaleOf(out))
	default:
		WriteError(w, apierrors.NewMethodNotSupported(ep.Resource.GroupVersionResource().GroupResource(), ri.Verb))
	}
}
