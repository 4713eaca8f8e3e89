// Package servicepods answers the questions both endpoints controllers ask:
// which Services select a pod, whether a pod backs its Service, and which
// port a Service port reaches on a pod.
package servicepods

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// ServicesFor returns the keys of the Services in pod's namespace whose
// selector matches pod's labels. Services without a selector are skipped:
// their endpoints are managed by hand.
func ServicesFor(lister corelisters.ServiceLister, pod *v1.Pod) []string {
	services, err := lister.Services(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var keys []string
	for _, s := range services {
		if s.Spec.Selector == nil {
			continue
		}
		if labels.SelectorFromValidatedSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			keys = append(keys, s.Namespace+"/"+s.Name)
		}
	}
	return keys
}

// Managed reports whether the controllers compute svc's endpoints: it has a
// selector (without one, endpoints are the user's).
func Managed(svc *v1.Service) bool {
	return svc.Spec.Selector != nil
}

// Include reports whether pod appears among svc's endpoints at all: it has
// an IP and has not finished; a terminating pod only counts when allowed.
func Include(pod *v1.Pod, includeTerminating bool) bool {
	if pod.Status.PodIP == "" {
		return false
	}
	if pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
		return false
	}
	if pod.DeletionTimestamp != nil && !includeTerminating {
		return false
	}
	return true
}

// Ready reports whether pod's Ready condition is True.
func Ready(pod *v1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

// FindPort resolves a Service port's target on pod: a number is used as is,
// a name is looked up among the pod's container ports of the same protocol.
func FindPort(pod *v1.Pod, port *v1.ServicePort) (int32, error) {
	target := port.TargetPort
	switch target.Type {
	case intstr.String:
		name := target.StrVal
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == name && protocol(p.Protocol) == protocol(port.Protocol) {
					return p.ContainerPort, nil
				}
			}
		}
		return 0, fmt.Errorf("no container port named %q on pod %s", name, pod.Name)
	default:
		if target.IntVal != 0 {
			return target.IntVal, nil
		}
		return port.Port, nil
	}
}

func protocol(p v1.Protocol) v1.Protocol {
	if p == "" {
		return v1.ProtocolTCP
	}
	return p
}

// Hostname returns the DNS hostname pod has under svc: its spec.hostname
// when its subdomain is the Service's name.
func Hostname(pod *v1.Pod, svc *v1.Service) string {
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name && svc.Namespace == pod.Namespace {
		return pod.Spec.Hostname
	}
	return ""
}

// FamilyOf returns the IP family of ip (an address without a colon is IPv4).
func FamilyOf(ip string) v1.IPFamily {
	if strings.Contains(ip, ":") {
		return v1.IPv6Protocol
	}
	return v1.IPv4Protocol
}

// IP returns pod's address of family f (from status.podIPs, or podIP for
// an object without them), or "" when the pod has none of that family.
func IP(pod *v1.Pod, f v1.IPFamily) string {
	for _, ip := range pod.Status.PodIPs {
		if FamilyOf(ip.IP) == f {
			return ip.IP
		}
	}
	if len(pod.Status.PodIPs) == 0 && pod.Status.PodIP != "" && FamilyOf(pod.Status.PodIP) == f {
		return pod.Status.PodIP
	}
	return ""
}

// EndpointsFamily is the family of the addresses a Service's core
// Endpoints list, as upstream chooses it: its first IP family, else the
// family of its clusterIP; a headless Service without either lists each
// pod's primary address (family "").
func EndpointsFamily(svc *v1.Service) v1.IPFamily {
	if len(svc.Spec.IPFamilies) > 0 {
		return svc.Spec.IPFamilies[0]
	}
	if ip := svc.Spec.ClusterIP; ip != "" && ip != v1.ClusterIPNone {
		return FamilyOf(ip)
	}
	return ""
}
