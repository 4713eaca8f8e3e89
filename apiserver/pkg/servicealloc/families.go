package servicealloc

import (
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// initIPFamilies settles spec.ipFamilies of svc from what the user asked and
// the families the cluster serves, as upstream does:
//
//   - families missing for user-chosen clusterIPs are inferred from them;
//   - a headless Service without a selector keeps what it asked for, gets the
//     primary family when it asked for none, and both families unless it is
//     SingleStack, even on a single-stack cluster (it has no ClusterIP);
//   - RequireDualStack is refused on a single-stack cluster, and every named
//     family must be served;
//   - no family means the primary one, and PreferDualStack or
//     RequireDualStack on a dual-stack cluster add the other family.
//
// The strategy has already validated the fields' shapes and the change from
// the stored object, and applied the SingleStack downgrade of an update. The
// refusals are 422 Invalid.
func (a *Allocator) initIPFamilies(svc *corev1.Service) error {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	spec := &svc.Spec
	specPath := field.NewPath("spec")
	policy := corev1.IPFamilyPolicySingleStack
	if spec.IPFamilyPolicy != nil {
		policy = *spec.IPFamilyPolicy
	}
	var errs field.ErrorList

	if policy == corev1.IPFamilyPolicySingleStack {
		if len(spec.ClusterIPs) == 2 {
			errs = append(errs, field.Invalid(specPath.Child("ipFamilyPolicy"), policy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"))
		}
		if len(spec.IPFamilies) == 2 {
			errs = append(errs, field.Invalid(specPath.Child("ipFamilyPolicy"), policy, "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"))
		}
	}

	// A user-chosen clusterIP names its family.
	for i, s := range spec.ClusterIPs {
		if s == corev1.ClusterIPNone {
			break
		}
		ip := net.ParseIP(s)
		if ip == nil || i < len(spec.IPFamilies) {
			continue // validation matched the family to the IP
		}
		fam := familyOf(ip)
		if a.IPs[fam] == nil {
			errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(i), spec.ClusterIPs, fmt.Sprintf("%s is not configured on this cluster", fam)))
			continue
		}
		spec.IPFamilies = append(spec.IPFamilies, fam)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(serviceKind, svc.Name, errs)
	}

	if spec.ClusterIP == corev1.ClusterIPNone && len(spec.Selector) == 0 {
		if len(spec.IPFamilies) == 0 {
			spec.IPFamilies = []corev1.IPFamily{a.Primary}
		}
		if len(spec.IPFamilies) == 1 && policy != corev1.IPFamilyPolicySingleStack {
			spec.IPFamilies = append(spec.IPFamilies, otherFamily(spec.IPFamilies[0]))
		}
		return nil
	}

	if policy == corev1.IPFamilyPolicyRequireDualStack && len(a.IPs) < 2 {
		errs = append(errs, field.Invalid(specPath.Child("ipFamilyPolicy"), policy, "this cluster is not configured for dual-stack services"))
	}
	for i, fam := range spec.IPFamilies {
		if a.IPs[fam] == nil {
			errs = append(errs, field.Invalid(specPath.Child("ipFamilies").Index(i), fam, "not configured on this cluster"))
		}
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(serviceKind, svc.Name, errs)
	}
	if len(spec.IPFamilies) == 0 {
		spec.IPFamilies = []corev1.IPFamily{a.Primary}
	}
	if policy != corev1.IPFamilyPolicySingleStack && len(spec.IPFamilies) == 1 && len(a.IPs) == 2 {
		spec.IPFamilies = append(spec.IPFamilies, otherFamily(spec.IPFamilies[0]))
	}
	return nil
}

func otherFamily(f corev1.IPFamily) corev1.IPFamily {
	if f == corev1.IPv4Protocol {
		return corev1.IPv6Protocol
	}
	return corev1.IPv4Protocol
}
