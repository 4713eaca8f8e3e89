package endpoints

import (
	"net"
	"net/http"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// SubresourceInfo is how a subresource appears in discovery.
type SubresourceInfo struct {
	// Kind (and Group/Version when not the parent's) of the subresource's body.
	Group, Version, Kind string
	Verbs                []string
}

// Subresource registers h for "<resource>/<subresource>" and lists it in
// discovery with info.
func (a *API) Subresource(name string, info SubresourceInfo, h SubresourceHandler) {
	a.subresources[name] = h
	if a.subresourceInfo == nil {
		a.subresourceInfo = map[string]SubresourceInfo{}
	}
	a.subresourceInfo[name] = info
}

var allVerbs = metav1.Verbs{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// groupOrder puts the core-adjacent groups first, as upstream's discovery does.
var groupOrder = map[string]int{
	"": 0, "apps": 1, "events.k8s.io": 2, "autoscaling": 3, "batch": 4,
	"networking.k8s.io": 5, "policy": 6, "rbac.authorization.k8s.io": 7,
	"storage.k8s.io": 8, "coordination.k8s.io": 9, "discovery.k8s.io": 10,
}

// groupVersions returns the served groups with their versions, preferred first.
func (a *API) groupVersions() []metav1.APIGroup {
	byGroup := map[string]map[string]bool{}
	for gvr := range a.endpoints {
		if byGroup[gvr.Group] == nil {
			byGroup[gvr.Group] = map[string]bool{}
		}
		byGroup[gvr.Group][gvr.Version] = true
	}
	for gvr := range a.handled {
		if byGroup[gvr.Group] == nil {
			byGroup[gvr.Group] = map[string]bool{}
		}
		byGroup[gvr.Group][gvr.Version] = true
	}
	var groups []metav1.APIGroup
	for g, vs := range byGroup {
		if g == "" {
			continue
		}
		var versions []string
		for v := range vs {
			versions = append(versions, v)
		}
		// Newest version first: v2 before v1, v1 before v1beta1.
		sort.Slice(versions, func(i, j int) bool { return versionLess(versions[j], versions[i]) })
		grp := metav1.APIGroup{Name: g}
		for _, v := range versions {
			grp.Versions = append(grp.Versions, metav1.GroupVersionForDiscovery{GroupVersion: g + "/" + v, Version: v})
		}
		grp.PreferredVersion = grp.Versions[0]
		groups = append(groups, grp)
	}
	sort.Slice(groups, func(i, j int) bool {
		oi, iok := groupOrder[groups[i].Name]
		oj, jok := groupOrder[groups[j].Name]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return groups[i].Name < groups[j].Name
	})
	return groups
}

// versionLess orders Kubernetes versions: v1alpha1 < v1beta1 < v1 < v2.
func versionLess(a, b string) bool {
	rank := func(v string) (int, int, int) {
		v = strings.TrimPrefix(v, "v")
		major, rest := 0, ""
		i := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			major = major*10 + int(v[i]-'0')
			i++
		}
		rest = v[i:]
		stage, minor := 2, 0
		switch {
		case strings.HasPrefix(rest, "alpha"):
			stage, rest = 0, strings.TrimPrefix(rest, "alpha")
		case strings.HasPrefix(rest, "beta"):
			stage, rest = 1, strings.TrimPrefix(rest, "beta")
		}
		for _, c := range rest {
			if c >= '0' && c <= '9' {
				minor = minor*10 + int(c-'0')
			}
		}
		return stage, major, minor
	}
	sa, ma, na := rank(a)
	sb, mb, nb := rank(b)
	if sa != sb {
		return sa < sb
	}
	if ma != mb {
		return ma < mb
	}
	return na < nb
}

// resourceList is the APIResourceList of one group version.
func (a *API) resourceList(gv schema.GroupVersion) (*metav1.APIResourceList, bool) {
	list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
	found := false
	for _, ep := range a.Endpoints() {
		res := ep.Resource
		if res.GroupVersion != gv {
			continue
		}
		found = true
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: res.Plural, SingularName: res.Singular, Namespaced: res.Namespaced, Kind: res.Kind,
			Verbs: allVerbs, ShortNames: res.ShortNames, Categories: res.Categories,
		})
		if res.Status {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: res.Plural + "/status", Namespaced: res.Namespaced, Kind: res.Kind, Verbs: metav1.Verbs{"get", "patch", "update"},
			})
		}
		if res.Scale {
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: res.Plural + "/scale", Namespaced: res.Namespaced, Group: "autoscaling", Version: "v1", Kind: "Scale", Verbs: metav1.Verbs{"get", "patch", "update"},
			})
		}
		var subs []string
		for name := range a.subresourceInfo {
			if strings.HasPrefix(name, res.Plural+"/") {
				subs = append(subs, name)
			}
		}
		sort.Strings(subs)
		for _, name := range subs {
			info := a.subresourceInfo[name]
			list.APIResources = append(list.APIResources, metav1.APIResource{
				Name: name, Namespaced: res.Namespaced, Group: info.Group, Version: info.Version, Kind: info.Kind, Verbs: info.Verbs,
			})
		}
	}
	if extra := a.handledResources(gv); len(extra) > 0 {
		found = true
		list.APIResources = append(list.APIResources, extra...)
	}
	return list, found
}

// ServeDiscovery serves /api, /api/v1, /apis, /apis/<group> and
// /apis/<group>/<version>.
func (a *API) ServeDiscovery(w http.ResponseWriter, r *http.Request) {
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) == 1 && parts[0] == "api":
		WriteJSON(w, http.StatusOK, &metav1.APIVersions{
			TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
			Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{
				ClientCIDR: "0.0.0.0/0", ServerAddress: serverAddress(r),
			}},
		})
	case len(parts) == 2 && parts[0] == "api":
		if l, ok := a.resourceList(schema.GroupVersion{Version: parts[1]}); ok {
			WriteJSON(w, http.StatusOK, l)
			return
		}
		WriteError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
	case len(parts) == 1 && parts[0] == "apis":
		WriteJSON(w, http.StatusOK, &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: a.groupVersions()})
	case len(parts) == 2 && parts[0] == "apis":
		for _, g := range a.groupVersions() {
			if g.Name == parts[1] {
				g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
				WriteJSON(w, http.StatusOK, &g)
				return
			}
		}
		WriteError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
	case len(parts) == 3 && parts[0] == "apis":
		if l, ok := a.resourceList(schema.GroupVersion{Group: parts[1], Version: parts[2]}); ok {
			WriteJSON(w, http.StatusOK, l)
			return
		}
		WriteError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
	default:
		WriteError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
	}
}

func serverAddress(r *http.Request) string {
	if r.TLS != nil && r.Host != "" {
		return r.Host
	}
	if _, _, err := net.SplitHostPort(r.Host); err == nil {
		return r.Host
	}
	return r.Host
}
