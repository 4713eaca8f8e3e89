package resource

import (
	"fmt"

	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// FileFlags are kubectl's -f/--filename and -R/--recursive.
type FileFlags struct {
	Filenames []string
	Recursive bool
}

// AddFlags registers -f (described by usage, e.g. "The files that contain
// the configurations to apply.") and -R.
func (o *FileFlags) AddFlags(fs *pflag.FlagSet, usage string) {
	fs.StringSliceVarP(&o.Filenames, "filename", "f", nil, usage)
	fs.BoolVarP(&o.Recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
}

// Info is one object a command acts on: its REST mapping, namespace and
// name, the object (as read from a manifest, or as the server returned it)
// and the manifest it came from ("" for objects named on the command line).
type Info struct {
	Mapping   *meta.RESTMapping
	Namespace string
	Name      string
	Object    *unstructured.Unstructured
	Source    string
}

// String describes the info as kubectl does inside error messages:
//
//	Resource: "apps/v1, Resource=deployments", GroupVersionKind: "apps/v1, Kind=Deployment"
//	Name: "web", Namespace: "default"
func (i *Info) String() string {
	basic := fmt.Sprintf("Name: %q, Namespace: %q", i.Name, i.Namespace)
	if i.Mapping == nil {
		return basic
	}
	return fmt.Sprintf("Resource: %q, GroupVersionKind: %q\n%s", i.Mapping.Resource.String(), i.Mapping.GroupVersionKind.String(), basic)
}

// ObjectName is "<resource>/<name>" ("deployments/web"), as
// kubectl names an object in timeouts and warnings.
func (i *Info) ObjectName() string {
	return i.Mapping.Resource.Resource + "/" + i.Name
}

// KindName is "<kind>.<group>/<name>" ("deployment.apps/web").
func (i *Info) KindName() string { return KindName(i.Mapping, i.Name) }

// Client is the dynamic client for the info's resource and namespace.
func (i *Info) Client(dyn dynamic.Interface) dynamic.ResourceInterface {
	return Client(dyn, i.Mapping, i.Namespace)
}

// FromManifests maps manifests to infos acting in namespace ns: a namespaced
// object without a namespace is put in ns, and when enforce is set (the user
// chose the namespace with -n) an object in another namespace is an error.
// Objects that cannot be mapped are errors; the others are returned.
func FromManifests(mapper meta.RESTMapper, manifests []Manifest, ns string, enforce bool) ([]*Info, []error) {
	var infos []*Info
	var errs []error
	for _, m := range manifests {
		mapping, err := mappingForManifest(mapper, m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		info := &Info{Mapping: mapping, Name: m.Object.GetName(), Object: m.Object, Source: m.Source}
		if Namespaced(mapping) {
			objNS := m.Object.GetNamespace()
			switch {
			case objNS == "":
				m.Object.SetNamespace(ns)
				objNS = ns
			case enforce && objNS != ns:
				errs = append(errs, fmt.Errorf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.", objNS, ns, objNS))
				continue
			}
			info.Namespace = objNS
		}
		infos = append(infos, info)
	}
	return infos, errs
}

// mappingForManifest maps a manifest's object, with kubectl's messages for
// an object without a type and for a type the server does not have.
func mappingForManifest(mapper meta.RESTMapper, m Manifest) (*meta.RESTMapping, error) {
	gvk := m.Object.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		_, err := MappingForObject(mapper, m.Object)
		return nil, fmt.Errorf("unable to decode %q: %v", m.Source, err)
	}
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("resource mapping not found for name: %q namespace: %q from %q: no matches for kind %q in version %q\nensure CRDs are installed first",
			m.Object.GetName(), m.Object.GetNamespace(), m.Source, gvk.Kind, gvk.GroupVersion().String())
	}
	return mapping, err
}

// WithSource names the manifest a server call failed for, as kubectl does:
// "error when creating "web.yaml": ...". An API error stays an API error
// (its reason and code are kept) with the longer message.
func WithSource(verb, source string, err error) error {
	if source == "" || err == nil {
		return err
	}
	if se, ok := err.(apierrors.APIStatus); ok {
		st := se.Status()
		st.Message = fmt.Sprintf("error when %s %q: %v", verb, source, st.Message)
		return &apierrors.StatusError{ErrStatus: st}
	}
	return fmt.Errorf("error when %s %q: %v", verb, source, err)
}
