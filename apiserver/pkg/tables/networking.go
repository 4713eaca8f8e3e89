package tables

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ingressCells renders an ingress: NAME CLASS HOSTS ADDRESS PORTS AGE.
func ingressCells(ing *networkingv1.Ingress, now time.Time) []interface{} {
	class := "<none>"
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	}
	var address []string
	for _, in := range ing.Status.LoadBalancer.Ingress {
		address = append(address, firstNonEmpty(in.IP, in.Hostname))
	}
	ports := "80"
	if len(ing.Spec.TLS) > 0 {
		ports = "80, 443"
	}
	return []interface{}{
		ing.Name,
		class,
		ingressHosts(ing.Spec.Rules),
		strings.Join(sortedUnique(address), ","),
		ports,
		since(ing.CreationTimestamp, now),
	}
}

// ingressHosts lists the rules' hosts up to three ("*" when no rule names a host); when rules
// remain after the third host it adds how many rules there are beyond three.
func ingressHosts(rules []networkingv1.IngressRule) string {
	const shown = 3
	var hosts []string
	more := false
	for _, r := range rules {
		if len(hosts) == shown {
			more = true
			break
		}
		if r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	if len(hosts) == 0 {
		return "*"
	}
	if more {
		return fmt.Sprintf("%s + %d more...", strings.Join(hosts, ","), len(rules)-shown)
	}
	return strings.Join(hosts, ",")
}

// ingressClassCells renders PARAMETERS as "kind.apiGroup/name" ("<none>" without parameters).
func ingressClassCells(ic *networkingv1.IngressClass, now time.Time) []interface{} {
	params := "<none>"
	if p := ic.Spec.Parameters; p != nil {
		params = p.Kind
		if p.APIGroup != nil {
			params += "." + *p.APIGroup
		}
		params += "/" + p.Name
	}
	return []interface{}{ic.Name, ic.Spec.Controller, params, since(ic.CreationTimestamp, now)}
}

func networkPolicyCells(np *networkingv1.NetworkPolicy, now time.Time) []interface{} {
	return []interface{}{np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), since(np.CreationTimestamp, now)}
}

// endpointSliceCells renders a slice: NAME ADDRESSTYPE PORTS ENDPOINTS AGE, each list cut
// after three entries and "<unset>" when empty.
func endpointSliceCells(es *discoveryv1.EndpointSlice, now time.Time) []interface{} {
	ports := make([]string, len(es.Ports))
	for i, p := range es.Ports {
		switch {
		case p.Port != nil:
			ports[i] = strconv.Itoa(int(*p.Port))
		case p.Name != nil:
			ports[i] = *p.Name
		default:
			ports[i] = "*"
		}
	}
	var addresses []string
	for _, ep := range es.Endpoints {
		addresses = append(addresses, ep.Addresses...)
	}
	return []interface{}{
		es.Name,
		string(es.AddressType),
		orUnset(firstThree(ports, len(ports))),
		orUnset(firstThree(addresses, len(addresses))),
		since(es.CreationTimestamp, now),
	}
}

func orUnset(s string) string {
	if s == "" {
		return "<unset>"
	}
	return s
}
