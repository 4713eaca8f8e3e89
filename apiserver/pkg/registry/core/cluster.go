package core

import (
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// --- namespaces ------------------------------------------------------------

var namespaceStrategy = typedstrategy.Funcs[*corev1.Namespace]{
	Name:          apivalidation.ValidateNamespaceName,
	PrepareCreate: prepareNamespaceForCreate,
	PrepareUpdate: func(ns, old *corev1.Namespace) {
		// Finalizers change only through the finalize subresource.
		ns.Spec.Finalizers = old.Spec.Finalizers
	},
	Defaults: func(ns *corev1.Namespace) {
		if ns.Name != "" {
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			ns.Labels[corev1.LabelMetadataName] = ns.Name
		}
		if ns.Status.Phase == "" {
			ns.Status.Phase = corev1.NamespaceActive
		}
	},
	Check: func(ns *corev1.Namespace) field.ErrorList {
		return ValidateNamespaceFinalizers(ns.Spec.Finalizers, field.NewPath("spec", "finalizers"))
	},
	CheckStatus: validateNamespaceStatus,
}

// prepareNamespaceForCreate makes a new namespace Active and adds the
// "kubernetes" finalizer that the namespace controller removes once the
// namespace's content is gone.
func prepareNamespaceForCreate(ns *corev1.Namespace) {
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return
		}
	}
	ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
}

// ValidateNamespaceFinalizers checks spec.finalizers of a namespace (also on
// the finalize subresource): "kubernetes" or a domain-qualified name.
func ValidateNamespaceFinalizers(finalizers []corev1.FinalizerName, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range finalizers {
		name := string(f)
		errs = append(errs, metavalidation.ValidateQualifiedName(name, fldPath)...)
		if !strings.Contains(name, "/") && f != corev1.FinalizerKubernetes {
			errs = append(errs, field.Invalid(fldPath, name, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

func validateNamespaceStatus(ns, old *corev1.Namespace) field.ErrorList {
	p := field.NewPath("status", "phase")
	if old.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty")}
		}
	} else if ns.Status.Phase != corev1.NamespaceTerminating {
		return field.ErrorList{field.Invalid(p, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")}
	}
	return nil
}

func namespaceFields(obj runtime.Object) fields.Set {
	if ns, ok := obj.(*corev1.Namespace); ok {
		return fields.Set{"status.phase": string(ns.Status.Phase), "name": ns.Name}
	}
	return nil
}

// --- nodes -----------------------------------------------------------------

var nodeStrategy = typedstrategy.Funcs[*corev1.Node]{
	Defaults: func(n *corev1.Node) {
		if n.Spec.PodCIDR != "" && len(n.Spec.PodCIDRs) == 0 {
			n.Spec.PodCIDRs = []string{n.Spec.PodCIDR}
		}
		if len(n.Spec.PodCIDRs) > 0 {
			n.Spec.PodCIDR = n.Spec.PodCIDRs[0]
		}
		roundResourceList(n.Status.Capacity)
		roundResourceList(n.Status.Allocatable)
		if n.Status.Allocatable == nil && n.Status.Capacity != nil {
			n.Status.Allocatable = n.Status.Capacity.DeepCopy()
		}
	},
	Check:       validateNode,
	CheckUpdate: validateNodeUpdate,
	CheckStatus: func(n, _ *corev1.Node) field.ErrorList { return validateNodeStatus(n) },
}

func validateNode(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	if n.Spec.PodCIDR != "" && (len(n.Spec.PodCIDRs) == 0 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR) {
		errs = append(errs, field.Invalid(specPath.Child("podCIDRs"), n.Spec.PodCIDRs, "first value must match `podCIDR`"))
	}
	if len(n.Spec.PodCIDRs) > 2 {
		errs = append(errs, field.Invalid(specPath.Child("podCIDRs"), n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	families := map[bool]bool{}
	for i, cidr := range n.Spec.PodCIDRs {
		p := specPath.Child("podCIDRs").Index(i)
		if e := validation.IsValidCIDR(p, cidr); len(e) > 0 {
			errs = append(errs, e...)
			continue
		}
		_, ipnet, _ := net.ParseCIDR(cidr)
		v4 := ipnet.IP.To4() != nil
		if families[v4] {
			errs = append(errs, field.Invalid(specPath.Child("podCIDRs"), n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
		}
		families[v4] = true
	}
	errs = append(errs, ValidateTaints(n.Spec.Taints, specPath.Child("taints"))...)
	errs = append(errs, validateNodeStatus(n)...)
	return errs
}

func validateNodeStatus(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	statusPath := field.NewPath("status")
	for name, q := range n.Status.Capacity {
		errs = append(errs, metavalidation.ValidateNonnegativeQuantity(q, statusPath.Child("capacity").Key(string(name)))...)
	}
	for name, q := range n.Status.Allocatable {
		errs = append(errs, metavalidation.ValidateNonnegativeQuantity(q, statusPath.Child("allocatable").Key(string(name)))...)
	}
	for i, a := range n.Status.Addresses {
		switch a.Type {
		case corev1.NodeHostName, corev1.NodeExternalIP, corev1.NodeInternalIP, corev1.NodeExternalDNS, corev1.NodeInternalDNS:
		default:
			errs = append(errs, field.NotSupported(statusPath.Child("addresses").Index(i).Child("type"), a.Type,
				[]corev1.NodeAddressType{corev1.NodeExternalDNS, corev1.NodeExternalIP, corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeInternalIP}))
		}
	}
	return errs
}

// ValidateTaints validates node taints: qualified keys, label-value values,
// a supported effect, and unique key/effect pairs.
func ValidateTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, t := range taints {
		p := fldPath.Index(i)
		errs = append(errs, metavalidation.ValidateQualifiedName(t.Key, p.Child("key"))...)
		for _, msg := range validation.IsValidLabelValue(t.Value) {
			errs = append(errs, field.Invalid(p.Child("value"), t.Value, msg))
		}
		if t.Effect == "" {
			errs = append(errs, field.Required(p.Child("effect"), ""))
		} else if !contains(supportedTaintEffects, t.Effect) {
			errs = append(errs, field.NotSupported(p.Child("effect"), t.Effect, supportedTaintEffects))
		}
		key := t.Key + "/" + string(t.Effect)
		if seen.Has(key) {
			errs = append(errs, field.Duplicate(p, "taints must be unique by key and effect pair"))
		}
		seen.Insert(key)
	}
	return errs
}

// validateNodeUpdate lets podCIDRs and providerID be set once, never changed.
func validateNodeUpdate(n, old *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	if len(old.Spec.PodCIDRs) > 0 && !sameStrings(old.Spec.PodCIDRs, n.Spec.PodCIDRs) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != n.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	return errs
}

func nodeFields(obj runtime.Object) fields.Set {
	if n, ok := obj.(*corev1.Node); ok {
		return fields.Set{"spec.unschedulable": strconv.FormatBool(n.Spec.Unschedulable)}
	}
	return nil
}
