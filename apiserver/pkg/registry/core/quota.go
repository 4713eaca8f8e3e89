package core

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// --- resourcequotas --------------------------------------------------------

// standardQuotaResources are the resource names a quota may limit without a
// domain prefix (besides hugepages and count/ names).
var standardQuotaResources = sets.New[corev1.ResourceName](
	corev1.ResourcePods, corev1.ResourceServices, corev1.ResourceReplicationControllers, corev1.ResourceQuotas,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage, corev1.ResourceStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsStorage, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
)

var supportedQuotaScopes = []corev1.ResourceQuotaScope{
	corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeCrossNamespacePodAffinity, corev1.ResourceQuotaScopeNotBestEffort,
	corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeTerminating,
	corev1.ResourceQuotaScopeVolumeAttributesClass,
}

var resourceQuotaStrategy = typedstrategy.Funcs[*corev1.ResourceQuota]{
	Namespaced:    true,
	PrepareCreate: func(q *corev1.ResourceQuota) { q.Status = corev1.ResourceQuotaStatus{} },
	Defaults: func(q *corev1.ResourceQuota) {
		roundResourceList(q.Spec.Hard)
	},
	Check: func(q *corev1.ResourceQuota) field.ErrorList {
		var errs field.ErrorList
		specPath := field.NewPath("spec")
		errs = append(errs, validateQuotaResourceList(q.Spec.Hard, specPath.Child("hard"))...)
		for i, s := range q.Spec.Scopes {
			if !contains(supportedQuotaScopes, s) {
				errs = append(errs, field.NotSupported(specPath.Child("scopes").Index(i), s, supportedQuotaScopes))
			}
		}
		if sel := q.Spec.ScopeSelector; sel != nil {
			if len(sel.MatchExpressions) == 0 {
				errs = append(errs, field.Invalid(specPath.Child("scopeSelector", "matchExpressions"), nil, "must have at least one scope selector expression"))
			}
			for i, req := range sel.MatchExpressions {
				p := specPath.Child("scopeSelector", "matchExpressions").Index(i)
				if !contains(supportedQuotaScopes, req.ScopeName) {
					errs = append(errs, field.NotSupported(p.Child("scopeName"), req.ScopeName, supportedQuotaScopes))
				}
				switch req.Operator {
				case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
					if len(req.Values) == 0 {
						errs = append(errs, field.Required(p.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
					}
				case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
					if len(req.Values) != 0 {
						errs = append(errs, field.Invalid(p.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
					}
				default:
					errs = append(errs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
				}
			}
		}
		return errs
	},
	CheckStatus: func(q, _ *corev1.ResourceQuota) field.ErrorList {
		var errs field.ErrorList
		errs = append(errs, validateQuotaResourceList(q.Status.Hard, field.NewPath("status", "hard"))...)
		errs = append(errs, validateQuotaResourceList(q.Status.Used, field.NewPath("status", "used"))...)
		return errs
	},
}

func isStandardQuotaResource(name corev1.ResourceName) bool {
	s := string(name)
	return standardQuotaResources.Has(name) || strings.HasPrefix(s, corev1.ResourceHugePagesPrefix) ||
		strings.HasPrefix(s, corev1.DefaultResourceRequestsPrefix+corev1.ResourceHugePagesPrefix) || strings.HasPrefix(s, "count/")
}

func validateQuotaResourceList(list corev1.ResourceList, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, q := range list {
		p := fldPath.Key(string(name))
		for _, msg := range validation.IsQualifiedName(string(name)) {
			errs = append(errs, field.Invalid(p, name, msg))
		}
		if !strings.Contains(string(name), "/") || strings.HasPrefix(string(name), "count/") {
			if !isStandardQuotaResource(name) {
				errs = append(errs, field.Invalid(p, name, "must be a standard resource for quota"))
			}
		}
		errs = append(errs, metavalidation.ValidateNonnegativeQuantity(q, p)...)
	}
	return errs
}

// --- limitranges -----------------------------------------------------------

var supportedLimitTypes = []corev1.LimitType{corev1.LimitTypeContainer, corev1.LimitTypePersistentVolumeClaim, corev1.LimitTypePod}

var limitRangeStrategy = typedstrategy.Funcs[*corev1.LimitRange]{
	Namespaced: true,
	Defaults:   defaultLimitRange,
	Check:      validateLimitRange,
}

// defaultLimitRange gives Container items a default limit from max and a
// default request from the default limit or else min.
func defaultLimitRange(lr *corev1.LimitRange) {
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		for _, l := range []corev1.ResourceList{item.Max, item.Min, item.Default, item.DefaultRequest, item.MaxLimitRequestRatio} {
			roundResourceList(l)
		}
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		if item.Default == nil {
			item.Default = corev1.ResourceList{}
		}
		if item.DefaultRequest == nil {
			item.DefaultRequest = corev1.ResourceList{}
		}
		for k, v := range item.Max {
			if _, ok := item.Default[k]; !ok {
				item.Default[k] = v.DeepCopy()
			}
		}
		for k, v := range item.Default {
			if _, ok := item.DefaultRequest[k]; !ok {
				item.DefaultRequest[k] = v.DeepCopy()
			}
		}
		for k, v := range item.Min {
			if _, ok := item.DefaultRequest[k]; !ok {
				item.DefaultRequest[k] = v.DeepCopy()
			}
		}
	}
}

func validateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	var errs field.ErrorList
	limitsPath := field.NewPath("spec", "limits")
	seen := sets.New[corev1.LimitType]()
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		p := limitsPath.Index(i)
		if !contains(supportedLimitTypes, item.Type) {
			errs = append(errs, field.NotSupported(p.Child("type"), item.Type, supportedLimitTypes))
		}
		if seen.Has(item.Type) {
			errs = append(errs, field.Duplicate(p.Child("type"), item.Type))
		}
		seen.Insert(item.Type)
		if item.Type == corev1.LimitTypePod {
			if len(item.Default) > 0 {
				errs = append(errs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(item.DefaultRequest) > 0 {
				errs = append(errs, field.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		}
		keys := sets.New[corev1.ResourceName]()
		for _, l := range []struct {
			list corev1.ResourceList
			name string
		}{{item.Max, "max"}, {item.Min, "min"}, {item.Default, "default"}, {item.DefaultRequest, "defaultRequest"}, {item.MaxLimitRequestRatio, "maxLimitRequestRatio"}} {
			for k, q := range l.list {
				keys.Insert(k)
				errs = append(errs, metavalidation.ValidateNonnegativeQuantity(q, p.Child(l.name).Key(string(k)))...)
			}
		}
		for _, k := range sets.List(keys) {
			errs = append(errs, validateLimitRangeKey(item, k, p)...)
		}
	}
	return errs
}

func validateLimitRangeKey(item *corev1.LimitRangeItem, k corev1.ResourceName, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	key := string(k)
	minQ, minOK := item.Min[k]
	maxQ, maxOK := item.Max[k]
	defQ, defOK := item.Default[k]
	reqQ, reqOK := item.DefaultRequest[k]
	ratio, ratioOK := item.MaxLimitRequestRatio[k]
	if minOK && maxOK && minQ.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("min").Key(key), minQ, fmt.Sprintf("min value %s is greater than max value %s", minQ.String(), maxQ.String())))
	}
	if reqOK && minOK && minQ.Cmp(reqQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("min value %s is greater than default request value %s", minQ.String(), reqQ.String())))
	}
	if reqOK && maxOK && reqQ.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("default request value %s is greater than max value %s", reqQ.String(), maxQ.String())))
	}
	if reqOK && defOK && reqQ.Cmp(defQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(key), reqQ, fmt.Sprintf("default request value %s is greater than default limit value %s", reqQ.String(), defQ.String())))
	}
	if defOK && minOK && minQ.Cmp(defQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("default").Key(key), minQ, fmt.Sprintf("min value %s is greater than default value %s", minQ.String(), defQ.String())))
	}
	if defOK && maxOK && defQ.Cmp(maxQ) > 0 {
		errs = append(errs, field.Invalid(p.Child("default").Key(key), maxQ, fmt.Sprintf("default value %s is greater than max value %s", defQ.String(), maxQ.String())))
	}
	if ratioOK {
		one := resource.MustParse("1")
		if ratio.Cmp(one) < 0 {
			errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(key), ratio, fmt.Sprintf("ratio %s is less than 1", ratio.String())))
		}
		if maxOK && minOK && minQ.Sign() > 0 {
			maxRatio := float64(maxQ.MilliValue()) / float64(minQ.MilliValue())
			if float64(ratio.MilliValue())/1000 > maxRatio {
				errs = append(errs, field.Invalid(p.Child("maxLimitRequestRatio").Key(key), ratio, fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), maxRatio)))
			}
		}
	}
	return errs
}
