package resource

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

// Clients are what a selection needs from the command's factory.
type Clients interface {
	Mapper() (meta.RESTMapper, error)
	Discovery() (discovery.CachedDiscoveryInterface, error)
	Dynamic() (dynamic.Interface, error)
	// Namespace is the namespace to act in and whether the user chose it.
	Namespace() (string, bool, error)
}

// Selection names existing objects the way kubectl's object-taking commands
// (delete, label, annotate, patch, scale, set, wait, edit) do: manifests
// (-f), "TYPE NAME..." or "TYPE/NAME..." arguments, or TYPEs narrowed by a
// label or field selector, or --all of them.
type Selection struct {
	Files         FileFlags
	LabelSelector string
	FieldSelector string
	All           bool
	AllNamespaces bool
	// Stdin is read for "-f -".
	Stdin io.Reader
}

// Selection errors that each command words its own way.
var (
	// ErrNoResources: neither -f nor a type was given.
	ErrNoResources = errors.New("You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'")
	// ErrNoName: types were given without names, selector or --all.
	ErrNoName = errors.New("resource(s) were provided, but no name was specified")
)

// AddSelectorFlags registers -l/--selector, --field-selector, --all and
// -A/--all-namespaces with kubectl's wording; allUsage describes --all for
// the command ("Delete all resources, in the namespace of the specified
// resource types.").
func (s *Selection) AddSelectorFlags(fs *pflag.FlagSet, allUsage string) {
	fs.StringVarP(&s.LabelSelector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	fs.StringVar(&s.FieldSelector, "field-selector", "", "Selector (field query) to filter on, supports '=', '==', and '!='.(e.g. --field-selector key1=value1,key2=value2). The server only supports a limited number of field queries per type.")
	if allUsage != "" {
		fs.BoolVar(&s.All, "all", false, allUsage)
	}
	fs.BoolVarP(&s.AllNamespaces, "all-namespaces", "A", false, "If true, check the specified action in all namespaces.")
}

// Resolve returns the selected objects.
//
// Manifests' objects are returned as read (in the namespace rules of
// FromManifests) unless fetch is set, and objects named by arguments carry no
// Object unless fetch is set; fetch replaces each with the live object.
// Selectors and --all list objects from the server, so theirs are live.
//
// Failures of single objects (an unmappable manifest, a name the server does
// not have) are returned in errs and do not stop the others; err is a failure
// of the whole selection, such as ErrNoResources or ErrNoName.
func (s *Selection) Resolve(ctx context.Context, c Clients, args []string, fetch bool) (infos []*Info, errs []error, err error) {
	mapper, err := c.Mapper()
	if err != nil {
		return nil, nil, err
	}
	ns, explicit, err := c.Namespace()
	if err != nil {
		return nil, nil, err
	}
	// live marks the infos whose Object is already the server's.
	var live []bool
	if len(s.Files.Filenames) > 0 {
		if len(args) > 0 {
			return nil, nil, fmt.Errorf("Unexpected args: %v", args)
		}
		manifests, err := ReadManifests(s.Files.Filenames, s.Files.Recursive, s.Stdin)
		if err != nil {
			return nil, nil, err
		}
		infos, errs = FromManifests(mapper, manifests, ns, explicit)
		live = make([]bool, len(infos))
	} else {
		if len(args) == 0 {
			return nil, nil, ErrNoResources
		}
		disc, err := c.Discovery()
		if err != nil {
			return nil, nil, err
		}
		refs, err := Resolve(mapper, disc, args)
		if err != nil {
			return nil, nil, err
		}
		dyn, err := c.Dynamic()
		if err != nil {
			return nil, nil, err
		}
		selecting := s.LabelSelector != "" || s.FieldSelector != "" || s.All
		for _, r := range refs {
			if r.Name != "" {
				if s.AllNamespaces && Namespaced(r.Mapping) {
					return nil, nil, errors.New("a resource cannot be retrieved by name across all namespaces")
				}
				infos = append(infos, &Info{Mapping: r.Mapping, Namespace: nsFor(r.Mapping, ns), Name: r.Name})
				live = append(live, false)
				continue
			}
			if !selecting {
				return nil, nil, ErrNoName
			}
			listNS := ns
			if s.AllNamespaces {
				listNS = ""
			}
			list, err := Client(dyn, r.Mapping, listNS).List(ctx, metav1.ListOptions{LabelSelector: s.LabelSelector, FieldSelector: s.FieldSelector})
			if err != nil {
				return nil, nil, err
			}
			for i := range list.Items {
				it := &list.Items[i]
				infos = append(infos, &Info{Mapping: r.Mapping, Namespace: it.GetNamespace(), Name: it.GetName(), Object: it})
				live = append(live, true)
			}
		}
	}
	if !fetch {
		return infos, errs, nil
	}
	dyn, err := c.Dynamic()
	if err != nil {
		return nil, nil, err
	}
	var fetched []*Info
	var fetchErrs []error
	for i, info := range infos {
		if live[i] {
			fetched = append(fetched, info)
			continue
		}
		obj, err := info.Client(dyn).Get(ctx, info.Name, metav1.GetOptions{})
		if err != nil {
			fetchErrs = append(fetchErrs, err)
			continue
		}
		info.Object = obj
		fetched = append(fetched, info)
	}
	// kubectl reports the objects it could not fetch before those it could
	// not map.
	return fetched, append(fetchErrs, errs...), nil
}

func nsFor(m *meta.RESTMapping, ns string) string {
	if Namespaced(m) {
		return ns
	}
	return ""
}
