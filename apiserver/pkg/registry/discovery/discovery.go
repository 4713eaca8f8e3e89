// Package discovery describes discovery.k8s.io/v1 EndpointSlices to the
// generic store.
package discovery

import (
	"net"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/core"
	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// Upstream's EndpointSlice limits.
const (
	maxTopologyLabels = 16
	maxAddresses      = 100
	maxPorts          = 20000
	maxEndpoints      = 1000
	maxZoneHints      = 8
	maxNodeHints      = 8
)

var (
	supportedAddressTypes = []discoveryv1.AddressType{discoveryv1.AddressTypeFQDN, discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6}
	supportedProtocols    = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}
)

// Resources returns the discovery.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		GroupVersion: discoveryv1.SchemeGroupVersion, Plural: "endpointslices", Singular: "endpointslice",
		Kind: "EndpointSlice", ListKind: "EndpointSliceList", Namespaced: true,
		New:      func() runtime.Object { return &discoveryv1.EndpointSlice{} },
		NewList:  func() runtime.Object { return &discoveryv1.EndpointSliceList{} },
		Strategy: endpointSliceStrategy,
	}}
}

func ptrTo[T any](v T) *T { return &v }

var endpointSliceStrategy = typedstrategy.Funcs[*discoveryv1.EndpointSlice]{
	Namespaced: true,
	Defaults: func(s *discoveryv1.EndpointSlice) {
		for i := range s.Ports {
			p := &s.Ports[i]
			if p.Name == nil {
				p.Name = ptrTo("")
			}
			if p.Protocol == nil {
				p.Protocol = ptrTo(corev1.ProtocolTCP)
			}
		}
	},
	Check: validateEndpointSlice,
	CheckUpdate: func(s, old *discoveryv1.EndpointSlice) field.ErrorList {
		return metavalidation.ValidateImmutableField(s.AddressType, old.AddressType, field.NewPath("addressType"))
	},
}

func validateEndpointSlice(s *discoveryv1.EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	tp := field.NewPath("addressType")
	if s.AddressType == "" {
		errs = append(errs, field.Required(tp, ""))
	} else if !contains(supportedAddressTypes, s.AddressType) {
		errs = append(errs, field.NotSupported(tp, s.AddressType, supportedAddressTypes))
	}
	errs = append(errs, validateEndpoints(s.Endpoints, s.AddressType, field.NewPath("endpoints"))...)
	errs = append(errs, validatePorts(s.Ports, field.NewPath("ports"))...)
	return errs
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func validateEndpoints(endpoints []discoveryv1.Endpoint, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpoints {
		return field.ErrorList{field.TooMany(fldPath, len(endpoints), maxEndpoints)}
	}
	var errs field.ErrorList
	for i := range endpoints {
		ep := &endpoints[i]
		p := fldPath.Index(i)
		ap := p.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(ap, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxAddresses {
			errs = append(errs, field.TooMany(ap, len(ep.Addresses), maxAddresses))
		}
		for j, addr := range ep.Addresses {
			errs = append(errs, validateAddress(addr, addrType, ap.Index(j))...)
		}
		if ep.NodeName != nil {
			errs = append(errs, metavalidation.ValidateNameFunc(apivalidation.NameIsDNSSubdomain, *ep.NodeName, p.Child("nodeName"))...)
		}
		topo := p.Child("deprecatedTopology")
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(topo, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		errs = append(errs, metavalidation.ValidateLabels(ep.DeprecatedTopology, topo)...)
		if ep.Hostname != nil {
			errs = append(errs, metavalidation.ValidateDNS1123Label(*ep.Hostname, p.Child("hostname"))...)
		}
		if h := ep.Hints; h != nil {
			hp := p.Child("hints")
			if len(h.ForZones) > maxZoneHints {
				errs = append(errs, field.TooMany(hp.Child("forZones"), len(h.ForZones), maxZoneHints))
			}
			zones := sets.New[string]()
			for j, z := range h.ForZones {
				zp := hp.Child("forZones").Index(j).Child("name")
				if zones.Has(z.Name) {
					errs = append(errs, field.Duplicate(zp, z.Name))
				}
				zones.Insert(z.Name)
				errs = append(errs, metavalidation.ValidateLabels(map[string]string{corev1.LabelTopologyZone: z.Name}, zp)...)
			}
			if len(h.ForNodes) > maxNodeHints {
				errs = append(errs, field.TooMany(hp.Child("forNodes"), len(h.ForNodes), maxNodeHints))
			}
			for j, n := range h.ForNodes {
				errs = append(errs, metavalidation.ValidateNameFunc(apivalidation.NameIsDNSSubdomain, n.Name, hp.Child("forNodes").Index(j).Child("name"))...)
			}
		}
	}
	return errs
}

// validateAddress checks an endpoint address against the slice's address
// type; unknown types are reported once, on addressType.
func validateAddress(addr string, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	switch addrType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
		if errs := validation.IsValidIP(fldPath, addr); len(errs) > 0 {
			return errs
		}
		isV4 := net.ParseIP(addr).To4() != nil
		if addrType == discoveryv1.AddressTypeIPv4 && !isV4 {
			return field.ErrorList{field.Invalid(fldPath, addr, "must be a valid IPv4 address")}
		}
		if addrType == discoveryv1.AddressTypeIPv6 && isV4 {
			return field.ErrorList{field.Invalid(fldPath, addr, "must be a valid IPv6 address")}
		}
		return core.ValidateNonSpecialIP(addr, fldPath)
	case discoveryv1.AddressTypeFQDN:
		return validation.IsFullyQualifiedDomainName(fldPath, addr)
	}
	return nil
}

func validatePorts(ports []discoveryv1.EndpointPort, fldPath *field.Path) field.ErrorList {
	if len(ports) > maxPorts {
		return field.ErrorList{field.TooMany(fldPath, len(ports), maxPorts)}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		p := fldPath.Index(i)
		name := ""
		if port.Name != nil {
			name = *port.Name
		}
		if name != "" {
			errs = append(errs, metavalidation.ValidateDNS1123Label(name, p.Child("name"))...)
		}
		if names.Has(name) {
			errs = append(errs, field.Duplicate(p.Child("name"), name))
		}
		names.Insert(name)
		if port.Protocol == nil {
			errs = append(errs, field.Required(p.Child("protocol"), ""))
		} else if !contains(supportedProtocols, *port.Protocol) {
			errs = append(errs, field.NotSupported(p.Child("protocol"), *port.Protocol, supportedProtocols))
		}
		if port.AppProtocol != nil {
			errs = append(errs, metavalidation.ValidateQualifiedName(*port.AppProtocol, p.Child("appProtocol"))...)
		}
	}
	return errs
}
