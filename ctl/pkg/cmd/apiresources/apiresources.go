// Package apiresources is navctl api-resources: the resources the server
// serves, from discovery.
package apiresources

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/discovery"

	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
)

const example = `  # Print the supported API resources
  navctl api-resources

  # Print the supported API resources with more information
  navctl api-resources -o wide

  # Print the supported API resources sorted by a column
  navctl api-resources --sort-by=name

  # Print the supported namespaced resources
  navctl api-resources --namespaced=true

  # Print the supported non-namespaced resources
  navctl api-resources --namespaced=false

  # Print the supported API resources with a specific APIGroup
  navctl api-resources --api-group=rbac.authorization.k8s.io`

type options struct {
	output     string
	apiGroup   string
	namespaced bool
	verbs      []string
	categories []string
	noHeaders  bool
	sortBy     string
	cached     bool
}

// entry is one served resource with its group and version.
type entry struct {
	gv schema.GroupVersion
	r  metav1.APIResource
}

// NewCommand returns navctl api-resources.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "api-resources",
		DisableFlagsInUseLine: true,
		Short:                 "Print the supported API resources on the server",
		Long:                  "Print the supported API resources on the server.",
		Example:               example,
		Args:                  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, wide).")
	fl.StringVar(&o.apiGroup, "api-group", "", "Limit to resources in the specified API group.")
	fl.BoolVar(&o.namespaced, "namespaced", true, "If false, non-namespaced resources will be returned, otherwise returning namespaced resources by default.")
	fl.StringSliceVar(&o.verbs, "verbs", nil, "Limit to resources that support the specified verbs.")
	fl.StringSliceVar(&o.categories, "categories", nil, "Limit to resources that belong to the specified categories.")
	fl.BoolVar(&o.noHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers (default print headers).")
	fl.StringVar(&o.sortBy, "sort-by", "", "If non-empty, sort list of resources using specified field. The field can be either 'name' or 'kind'.")
	fl.BoolVar(&o.cached, "cached", false, "Use the cached list of resources if available.")
	return cmd
}

func (o *options) run(cmd *cobra.Command, f *factory.Factory) error {
	switch o.output {
	case "", "wide", "name", "json", "yaml":
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,name,wide,yaml", o.output)
	}
	switch o.sortBy {
	case "", "name", "kind":
	default:
		return errors.New("--sort-by accepts only name or kind")
	}
	disc, err := f.Discovery()
	if err != nil {
		return err
	}
	lists, err := disc.ServerPreferredResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return err
	}
	var entries []entry
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		if cmd.Flags().Changed("api-group") && gv.Group != o.apiGroup {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			if cmd.Flags().Changed("namespaced") && r.Namespaced != o.namespaced {
				continue
			}
			if len(o.verbs) > 0 && !sets.New(r.Verbs...).HasAll(o.verbs...) {
				continue
			}
			if len(o.categories) > 0 && !sets.New(r.Categories...).HasAll(o.categories...) {
				continue
			}
			entries = append(entries, entry{gv: gv, r: r})
		}
	}
	o.sort(entries)
	out := f.IO.Out
	switch o.output {
	case "json", "yaml":
		list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}}
		for _, e := range entries {
			r := e.r
			r.Group, r.Version = e.gv.Group, e.gv.Version
			list.APIResources = append(list.APIResources, r)
		}
		if o.output == "json" {
			return printers.JSON.PrintObj(list, out)
		}
		return printers.YAML.PrintObj(list, out)
	case "name":
		for _, e := range entries {
			name := e.r.Name
			if e.gv.Group != "" {
				name += "." + e.gv.Group
			}
			fmt.Fprintln(out, name)
		}
		return nil
	}
	cw := printers.NewColumnWriter(out)
	if !o.noHeaders {
		h := []string{"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"}
		if o.output == "wide" {
			h = append(h, "VERBS", "CATEGORIES")
		}
		cw.Write(h)
	}
	for _, e := range entries {
		row := []string{e.r.Name, strings.Join(e.r.ShortNames, ","), e.gv.String(), fmt.Sprint(e.r.Namespaced), e.r.Kind}
		if o.output == "wide" {
			row = append(row, strings.Join(sets.List(sets.New(e.r.Verbs...)), ","), strings.Join(e.r.Categories, ","))
		}
		cw.Write(row)
	}
	return cw.Flush()
}

// sort orders entries by --sort-by, else by group and then name.
func (o *options) sort(entries []entry) {
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		switch o.sortBy {
		case "name":
			return a.r.Name < b.r.Name
		case "kind":
			return a.r.Kind < b.r.Kind
		}
		if a.gv.Group != b.gv.Group {
			return a.gv.Group < b.gv.Group
		}
		return a.r.Name < b.r.Name
	})
}
