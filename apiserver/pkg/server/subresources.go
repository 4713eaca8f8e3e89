package server

import (
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/endpoints"
	"navarch.dev/apiserver/pkg/registry"
)

func success(code int32) *metav1.Status {
	return &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess, Code: code}
}

// registerSubresources adds the subresources the generic endpoints do not
// serve themselves.
func registerSubresources(api *endpoints.API, s *Server) {
	api.Subresource("pods/binding", endpoints.SubresourceInfo{Kind: "Binding", Verbs: []string{"create"}}, s.serveBinding)
	api.Subresource("pods/eviction", endpoints.SubresourceInfo{Group: "policy", Version: "v1", Kind: "Eviction", Verbs: []string{"create"}}, s.serveEviction)
	api.Subresource("namespaces/finalize", endpoints.SubresourceInfo{Kind: "Namespace", Verbs: []string{"update"}}, s.serveFinalize)
}

// serveBinding assigns a pod to a node (POST pods/<name>/binding), as the
// scheduler does. A pod already assigned elsewhere is a 409.
func (s *Server) serveBinding(w http.ResponseWriter, r *http.Request, ri *endpoints.RequestInfo, ep *endpoints.Endpoint) {
	if ri.Verb != "create" {
		endpoints.WriteError(w, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/binding"}, ri.Verb))
		return
	}
	var b corev1.Binding
	if err := endpoints.DecodeBody(r, &b); err != nil {
		endpoints.WriteError(w, err)
		return
	}
	if b.Name != "" && b.Name != ri.Name {
		endpoints.WriteError(w, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", b.Name, ri.Name)))
		return
	}
	if b.Target.Name == "" {
		endpoints.WriteError(w, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, ri.Name, field.ErrorList{field.Required(field.NewPath("target", "name"), "")}))
		return
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		endpoints.WriteError(w, apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, ri.Name, field.ErrorList{field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"})}))
		return
	}
	_, _, err := ep.Store.Update(r.Context(), ri.Namespace, ri.Name, func(cur runtime.Object) (runtime.Object, error) {
		pod := cur.(*corev1.Pod)
		if pod.DeletionTimestamp != nil {
			return nil, apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, ri.Name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", ri.Name))
		}
		if pod.Spec.NodeName != "" {
			return nil, apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, ri.Name, fmt.Errorf("pod %s is already assigned to node %q", ri.Name, pod.Spec.NodeName))
		}
		if b.UID != "" && b.UID != pod.UID {
			return nil, apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, ri.Name, fmt.Errorf("Precondition failed: UID in precondition: %s, UID in object meta: %s", b.UID, pod.UID))
		}
		pod.Spec.NodeName = b.Target.Name
		for k, v := range b.Annotations {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[k] = v
		}
		setCondition(pod, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()})
		pod.ResourceVersion = ""
		return pod, nil
	}, registry.UpdateOptions{Subresource: "binding", Force: true})
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	endpoints.WriteJSON(w, http.StatusCreated, success(http.StatusCreated))
}

func setCondition(pod *corev1.Pod, c corev1.PodCondition) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}

// serveEviction evicts a pod (POST pods/<name>/eviction): a delete with the
// eviction's options. PodDisruptionBudgets are not yet consulted.
func (s *Server) serveEviction(w http.ResponseWriter, r *http.Request, ri *endpoints.RequestInfo, ep *endpoints.Endpoint) {
	if ri.Verb != "create" {
		endpoints.WriteError(w, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "pods/eviction"}, ri.Verb))
		return
	}
	var ev policyv1.Eviction
	if err := endpoints.DecodeBody(r, &ev); err != nil {
		endpoints.WriteError(w, err)
		return
	}
	if ev.Name != "" && ev.Name != ri.Name {
		endpoints.WriteError(w, apierrors.NewBadRequest(fmt.Sprintf("name in URL does not match name in Eviction object")))
		return
	}
	opts := registry.DeleteOptions{}
	if do := ev.DeleteOptions; do != nil {
		opts.GracePeriodSeconds = do.GracePeriodSeconds
		opts.Preconditions = do.Preconditions
		opts.PropagationPolicy = do.PropagationPolicy
		opts.DryRun = len(do.DryRun) > 0
	}
	if _, _, err := ep.Store.Delete(r.Context(), ri.Namespace, ri.Name, opts); err != nil {
		endpoints.WriteError(w, err)
		return
	}
	endpoints.WriteJSON(w, http.StatusCreated, success(http.StatusCreated))
}

// serveFinalize updates a namespace's spec.finalizers (PUT
// namespaces/<name>/finalize); the namespace controller calls it once the
// namespace is empty, and a namespace being deleted with no finalizers left
// is removed.
func (s *Server) serveFinalize(w http.ResponseWriter, r *http.Request, ri *endpoints.RequestInfo, ep *endpoints.Endpoint) {
	if ri.Verb != "update" {
		endpoints.WriteError(w, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "namespaces/finalize"}, ri.Verb))
		return
	}
	var ns corev1.Namespace
	if err := endpoints.DecodeBody(r, &ns); err != nil {
		endpoints.WriteError(w, err)
		return
	}
	out, _, err := ep.Store.Update(r.Context(), "", ri.Name, func(cur runtime.Object) (runtime.Object, error) {
		c := cur.(*corev1.Namespace)
		if ns.ResourceVersion != "" && ns.ResourceVersion != c.ResourceVersion {
			return nil, apierrors.NewConflict(schema.GroupResource{Resource: "namespaces"}, ri.Name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		}
		c.Spec.Finalizers = ns.Spec.Finalizers
		c.ResourceVersion = ""
		return c, nil
	}, registry.UpdateOptions{Subresource: "finalize", Force: true})
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	nsOut := out.(*corev1.Namespace)
	if nsOut.DeletionTimestamp != nil && len(nsOut.Spec.Finalizers) == 0 && len(nsOut.Finalizers) == 0 {
		if _, _, err := ep.Store.Delete(r.Context(), "", ri.Name, registry.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			endpoints.WriteError(w, err)
			return
		}
	}
	nsOut.Kind, nsOut.APIVersion = "Namespace", "v1"
	endpoints.WriteJSON(w, http.StatusOK, nsOut)
}
