// Package networking describes networking.k8s.io/v1 Ingresses, IngressClasses
// and NetworkPolicies to the generic store.
package networking

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// Resources returns the networking.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	gv := networkingv1.SchemeGroupVersion
	return []*registry.Resource{
		{
			GroupVersion: gv, Plural: "ingresses", Singular: "ingress", Kind: "Ingress", ListKind: "IngressList",
			Namespaced: true, ShortNames: []string{"ing"},
			New:      func() runtime.Object { return &networkingv1.Ingress{} },
			NewList:  func() runtime.Object { return &networkingv1.IngressList{} },
			Strategy: ingressStrategy, Status: true, StatusStrategy: ingressStrategy,
		},
		{
			GroupVersion: gv, Plural: "ingressclasses", Singular: "ingressclass", Kind: "IngressClass", ListKind: "IngressClassList",
			New:      func() runtime.Object { return &networkingv1.IngressClass{} },
			NewList:  func() runtime.Object { return &networkingv1.IngressClassList{} },
			Strategy: ingressClassStrategy,
		},
		{
			GroupVersion: gv, Plural: "networkpolicies", Singular: "networkpolicy", Kind: "NetworkPolicy", ListKind: "NetworkPolicyList",
			Namespaced: true, ShortNames: []string{"netpol"},
			New:      func() runtime.Object { return &networkingv1.NetworkPolicy{} },
			NewList:  func() runtime.Object { return &networkingv1.NetworkPolicyList{} },
			Strategy: networkPolicyStrategy,
		},
	}
}

func ptrTo[T any](v T) *T { return &v }

// --- ingresses -------------------------------------------------------------

var (
	supportedPathTypes   = []networkingv1.PathType{networkingv1.PathTypeExact, networkingv1.PathTypeImplementationSpecific, networkingv1.PathTypePrefix}
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
)

var ingressStrategy = typedstrategy.Funcs[*networkingv1.Ingress]{
	Namespaced:    true,
	PrepareCreate: func(ing *networkingv1.Ingress) { ing.Status = networkingv1.IngressStatus{} },
	Check:         validateIngress,
	CheckStatus: func(ing, _ *networkingv1.Ingress) field.ErrorList {
		var errs field.ErrorList
		p := field.NewPath("status", "loadBalancer", "ingress")
		for i, lb := range ing.Status.LoadBalancer.Ingress {
			if lb.IP != "" {
				errs = append(errs, validation.IsValidIP(p.Index(i).Child("ip"), lb.IP)...)
			}
			if lb.Hostname != "" {
				errs = append(errs, metavalidation.ValidateDNS1123Subdomain(lb.Hostname, p.Index(i).Child("hostname"))...)
			}
		}
		return errs
	},
}

func validateIngress(ing *networkingv1.Ingress) field.ErrorList {
	var errs field.ErrorList
	spec := &ing.Spec
	p := field.NewPath("spec")
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(p, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateIngressBackend(spec.DefaultBackend, p.Child("defaultBackend"))...)
	}
	for i, rule := range spec.Rules {
		rp := p.Child("rules").Index(i)
		if rule.Host != "" {
			hp := rp.Child("host")
			if net.ParseIP(rule.Host) != nil {
				errs = append(errs, field.Invalid(hp, rule.Host, "must be a DNS name, not an IP address"))
			}
			errs = append(errs, validateHost(rule.Host, hp)...)
		}
		if rule.HTTP != nil {
			hp := rp.Child("http")
			if len(rule.HTTP.Paths) == 0 {
				errs = append(errs, field.Required(hp.Child("paths"), ""))
			}
			for j := range rule.HTTP.Paths {
				errs = append(errs, validateHTTPIngressPath(&rule.HTTP.Paths[j], hp.Child("paths").Index(j))...)
			}
		}
	}
	for i, tls := range spec.TLS {
		for j, host := range tls.Hosts {
			errs = append(errs, validateHost(host, p.Child("tls").Index(i).Child("hosts").Index(j))...)
		}
	}
	if c := spec.IngressClassName; c != nil {
		errs = append(errs, metavalidation.ValidateNameFunc(apivalidation.NameIsDNSSubdomain, *c, p.Child("ingressClassName"))...)
	}
	return errs
}

func validateHost(host string, fldPath *field.Path) field.ErrorList {
	msgs := validation.IsDNS1123Subdomain(host)
	if strings.Contains(host, "*") {
		msgs = validation.IsWildcardDNS1123Subdomain(host)
	}
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(fldPath, host, msg))
	}
	return errs
}

func validateHTTPIngressPath(path *networkingv1.HTTPIngressPath, fldPath *field.Path) field.ErrorList {
	if path.PathType == nil {
		return field.ErrorList{field.Required(fldPath.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	pp := fldPath.Child("path")
	switch *path.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(path.Path, "/") {
			errs = append(errs, field.Invalid(pp, path.Path, "must be an absolute path"))
		}
		for _, seq := range invalidPathSequences {
			if strings.Contains(path.Path, seq) {
				errs = append(errs, field.Invalid(pp, path.Path, fmt.Sprintf("must not contain '%s'", seq)))
			}
		}
		for _, suffix := range invalidPathSuffixes {
			if strings.HasSuffix(path.Path, suffix) {
				errs = append(errs, field.Invalid(pp, path.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if path.Path != "" && !strings.HasPrefix(path.Path, "/") {
			errs = append(errs, field.Invalid(pp, path.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("pathType"), *path.PathType, supportedPathTypes))
	}
	return append(errs, validateIngressBackend(&path.Backend, fldPath.Child("backend"))...)
}

// validateIngressBackend requires exactly one of a Service (with a port name
// or number) and a typed resource reference.
func validateIngressBackend(b *networkingv1.IngressBackend, fldPath *field.Path) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(fldPath, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateTypedLocalObjectReference(b.Resource, fldPath.Child("resource"))
	case b.Service != nil:
		var errs field.ErrorList
		sp := fldPath.Child("service")
		if b.Service.Name == "" {
			errs = append(errs, field.Required(sp.Child("name"), ""))
		} else {
			errs = append(errs, metavalidation.ValidateNameFunc(apivalidation.NameIsDNS1035Label, b.Service.Name, sp.Child("name"))...)
		}
		port := b.Service.Port
		switch {
		case port.Name != "" && port.Number != 0:
			errs = append(errs, field.Invalid(fldPath, "", "cannot set both port name & port number"))
		case port.Name != "":
			for _, msg := range validation.IsValidPortName(port.Name) {
				errs = append(errs, field.Invalid(sp.Child("port", "name"), port.Name, msg))
			}
		case port.Number != 0:
			for _, msg := range validation.IsValidPortNum(int(port.Number)) {
				errs = append(errs, field.Invalid(sp.Child("port", "number"), port.Number, msg))
			}
		default:
			errs = append(errs, field.Required(fldPath, "port name or number is required"))
		}
		return errs
	}
	return field.ErrorList{field.Invalid(fldPath, "", "resource or service backend is required")}
}

func validateTypedLocalObjectReference(ref *corev1.TypedLocalObjectReference, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ref.APIGroup != nil {
		errs = append(errs, metavalidation.ValidateDNS1123Subdomain(*ref.APIGroup, fldPath.Child("apiGroup"))...)
	}
	if ref.Kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	} else {
		errs = append(errs, metavalidation.ValidateNameFunc(metavalidation.NameIsPathSegment, ref.Kind, fldPath.Child("kind"))...)
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else {
		errs = append(errs, metavalidation.ValidateNameFunc(metavalidation.NameIsPathSegment, ref.Name, fldPath.Child("name"))...)
	}
	return errs
}

// --- ingressclasses --------------------------------------------------------

const maxLenIngressClassController = 250

var ingressClassStrategy = typedstrategy.Funcs[*networkingv1.IngressClass]{
	Check: func(ic *networkingv1.IngressClass) field.ErrorList {
		var errs field.ErrorList
		p := field.NewPath("spec")
		if len(ic.Spec.Controller) > maxLenIngressClassController {
			errs = append(errs, field.TooLong(p.Child("controller"), "", maxLenIngressClassController))
		}
		errs = append(errs, validation.IsDomainPrefixedPath(p.Child("controller"), ic.Spec.Controller)...)
		if ref := ic.Spec.Parameters; ref != nil {
			errs = append(errs, validateIngressClassParameters(ref, p.Child("parameters"))...)
		}
		return errs
	},
	CheckUpdate: func(ic, old *networkingv1.IngressClass) field.ErrorList {
		return metavalidation.ValidateImmutableField(ic.Spec.Controller, old.Spec.Controller, field.NewPath("spec", "controller"))
	},
}

func validateIngressClassParameters(ref *networkingv1.IngressClassParametersReference, fldPath *field.Path) field.ErrorList {
	errs := validateTypedLocalObjectReference(&corev1.TypedLocalObjectReference{APIGroup: ref.APIGroup, Kind: ref.Kind, Name: ref.Name}, fldPath)
	scopes := []string{networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace}
	scope := ""
	if ref.Scope != nil {
		scope = *ref.Scope
	}
	switch scope {
	case networkingv1.IngressClassParametersReferenceScopeNamespace:
		if ref.Namespace == nil {
			errs = append(errs, field.Required(fldPath.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
		} else {
			errs = append(errs, metavalidation.ValidateDNS1123Label(*ref.Namespace, fldPath.Child("namespace"))...)
		}
	case networkingv1.IngressClassParametersReferenceScopeCluster, "":
		if ref.Namespace != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("scope"), scope, scopes))
	}
	return errs
}

// --- networkpolicies -------------------------------------------------------

var networkPolicyStrategy = typedstrategy.Funcs[*networkingv1.NetworkPolicy]{
	Namespaced: true,
	Defaults:   defaultNetworkPolicy,
	Check:      validateNetworkPolicy,
}

// defaultNetworkPolicy gives ports protocol TCP and policyTypes Ingress (plus
// Egress when egress rules exist) when unset.
func defaultNetworkPolicy(np *networkingv1.NetworkPolicy) {
	for i := range np.Spec.Ingress {
		defaultPorts(np.Spec.Ingress[i].Ports)
	}
	for i := range np.Spec.Egress {
		defaultPorts(np.Spec.Egress[i].Ports)
	}
	if len(np.Spec.PolicyTypes) == 0 {
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) != 0 {
			np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
}

func defaultPorts(ports []networkingv1.NetworkPolicyPort) {
	for i := range ports {
		if ports[i].Protocol == nil {
			ports[i].Protocol = ptrTo(corev1.ProtocolTCP)
		}
	}
}

func validateNetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	errs = append(errs, metavalidation.ValidateLabelSelector(&np.Spec.PodSelector, p.Child("podSelector"))...)
	for i, rule := range np.Spec.Ingress {
		rp := p.Child("ingress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, validatePolicyPort(&rule.Ports[j], rp.Child("ports").Index(j))...)
		}
		for j := range rule.From {
			errs = append(errs, validatePeer(&rule.From[j], rp.Child("from").Index(j))...)
		}
	}
	for i, rule := range np.Spec.Egress {
		rp := p.Child("egress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, validatePolicyPort(&rule.Ports[j], rp.Child("ports").Index(j))...)
		}
		for j := range rule.To {
			errs = append(errs, validatePeer(&rule.To[j], rp.Child("to").Index(j))...)
		}
	}
	valid := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	if len(np.Spec.PolicyTypes) > len(valid) {
		return append(errs, field.Invalid(p.Child("policyTypes"), np.Spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range np.Spec.PolicyTypes {
		if t != valid[0] && t != valid[1] {
			errs = append(errs, field.NotSupported(p.Child("policyTypes").Index(i), t, valid))
		}
	}
	return errs
}

func validatePolicyPort(port *networkingv1.NetworkPolicyPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	protocols := []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	if pr := port.Protocol; pr != nil && *pr != protocols[0] && *pr != protocols[1] && *pr != protocols[2] {
		errs = append(errs, field.NotSupported(fldPath.Child("protocol"), *pr, protocols))
	}
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		for _, msg := range validation.IsValidPortNum(int(port.Port.IntVal)) {
			errs = append(errs, field.Invalid(fldPath.Child("port"), port.Port.IntVal, msg))
		}
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				errs = append(errs, field.Invalid(fldPath.Child("endPort"), port.Port.IntVal, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*port.EndPort)) {
				errs = append(errs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, msg))
			}
		}
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(fldPath.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			errs = append(errs, field.Invalid(fldPath.Child("port"), port.Port.StrVal, msg))
		}
	}
	return errs
}

// validatePeer requires a peer, and an ipBlock to stand alone.
func validatePeer(peer *networkingv1.NetworkPolicyPeer, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metavalidation.ValidateLabelSelector(peer.PodSelector, fldPath.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metavalidation.ValidateLabelSelector(peer.NamespaceSelector, fldPath.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, fldPath.Child("ipBlock"))...)
	}
	if n == 0 {
		errs = append(errs, field.Required(fldPath, "must specify a peer"))
	} else if n > 1 && peer.IPBlock != nil {
		errs = append(errs, field.Forbidden(fldPath, "may not specify both ipBlock and another peer"))
	}
	return errs
}

func validateIPBlock(b *networkingv1.IPBlock, fldPath *field.Path) field.ErrorList {
	if b.CIDR == "" {
		return field.ErrorList{field.Required(fldPath.Child("cidr"), "")}
	}
	errs := validation.IsValidCIDR(fldPath.Child("cidr"), b.CIDR)
	_, cidr, err := net.ParseCIDR(b.CIDR)
	if err != nil {
		return errs
	}
	cidrLen, _ := cidr.Mask.Size()
	for i, except := range b.Except {
		ep := fldPath.Child("except").Index(i)
		errs = append(errs, validation.IsValidCIDR(ep, except)...)
		_, exceptNet, err := net.ParseCIDR(except)
		if err != nil {
			continue
		}
		exceptLen, _ := exceptNet.Mask.Size()
		if !cidr.Contains(exceptNet.IP) || cidrLen >= exceptLen {
			errs = append(errs, field.Invalid(ep, except, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}
