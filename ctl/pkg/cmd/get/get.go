// Package get is navctl get: one or many resources printed as the server's
// Tables (the default and -o wide) or as json, yaml, name, jsonpath,
// custom-columns and go-template, listed once or watched.
package get

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

const long = `Display one or many resources.

 Prints a table of the most important information about the specified resources. You can filter the list using a label selector and the --selector flag. If the desired resource type is namespaced you will only see results in the current namespace if you don't specify any namespace.

 By specifying the output as 'template' and providing a Go template as the value of the --template flag, you can filter the attributes of the fetched resources.

Use "navctl api-resources" for a complete list of supported resources.`

const example = `  # List all pods in ps output format
  navctl get pods

  # List all pods in ps output format with more information (such as node name)
  navctl get pods -o wide

  # List a single replication controller with specified NAME in ps output format
  navctl get replicationcontroller web

  # List deployments in JSON output format, in the "v1" version of the "apps" API group
  navctl get deployments.v1.apps -o json

  # List a single pod in JSON output format
  navctl get -o json pod web-pod-13je7

  # List a pod identified by type and name specified in "pod.yaml" in JSON output format
  navctl get -f pod.yaml -o json

  # Return only the phase value of the specified pod
  navctl get -o template pod/web-pod-13je7 --template={{.status.phase}}

  # List resource information in custom columns
  navctl get pod test-pod -o custom-columns=CONTAINER:.spec.containers[0].name,IMAGE:.spec.containers[0].image

  # List all replication controllers and services together in ps output format
  navctl get rc,services

  # List one or more resources by their type and names
  navctl get rc/web service/frontend pods/web-pod-13je7

  # List the 'status' subresource for a single pod
  navctl get pod web-pod-13je7 --subresource status

  # List all deployments in namespace 'backend'
  navctl get deployments.apps --namespace backend

  # List all pods existing in all namespaces
  navctl get pods --all-namespaces`

// options are get's flags.
type options struct {
	output            string
	template          string
	selector          string
	fieldSelector     string
	allNamespaces     bool
	watch             bool
	watchOnly         bool
	outputWatchEvents bool
	showLabels        bool
	labelColumns      []string
	sortBy            string
	noHeaders         bool
	showKind          bool
	ignoreNotFound    bool
	chunkSize         int64
	filenames         []string
	recursive         bool
	showManagedFields bool
	allowMissingKeys  bool
	raw               string
	subresource       string
	serverPrint       bool
}

// NewCommand returns navctl get.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "get [(-o|--output=)json|yaml|name|go-template|go-template-file|template|templatefile|jsonpath|jsonpath-as-json|jsonpath-file|custom-columns|custom-columns-file|wide] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Display one or many resources",
		Long:                  long,
		Example:               example,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file, custom-columns, custom-columns-file, wide). See custom columns [https://kubernetes.io/docs/reference/kubectl/#custom-columns], golang template [http://golang.org/pkg/text/template/#pkg-overview] and jsonpath template [https://kubernetes.io/docs/reference/kubectl/jsonpath/].")
	fl.StringVar(&o.template, "template", "", "Template string or path to template file to use when -o=go-template, -o=go-template-file. The template format is golang templates [http://golang.org/pkg/text/template/#pkg-overview].")
	fl.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	fl.StringVar(&o.fieldSelector, "field-selector", "", "Selector (field query) to filter on, supports '=', '==', and '!='.(e.g. --field-selector key1=value1,key2=value2). The server only supports a limited number of field queries per type.")
	fl.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	fl.BoolVarP(&o.watch, "watch", "w", false, "After listing/getting the requested object, watch for changes.")
	fl.BoolVar(&o.watchOnly, "watch-only", false, "Watch for changes to the requested object(s), without listing/getting first.")
	fl.BoolVar(&o.outputWatchEvents, "output-watch-events", false, "Output watch event objects when --watch or --watch-only is used. Existing objects are output as initial ADDED events.")
	fl.BoolVar(&o.showLabels, "show-labels", false, "When printing, show all labels as the last column (default hide labels column)")
	fl.StringSliceVarP(&o.labelColumns, "label-columns", "L", nil, "Accepts a comma separated list of labels that are going to be presented as columns. Names are case-sensitive. You can also use multiple flag options like -L label1 -L label2...")
	fl.StringVar(&o.sortBy, "sort-by", "", "If non-empty, sort list types using this field specification.  The field specification is expressed as a JSONPath expression (e.g. '{.metadata.name}'). The field in the API resource specified by this JSONPath expression must be an integer or a string.")
	fl.BoolVar(&o.noHeaders, "no-headers", false, "When using the default or custom-column output format, don't print headers (default print headers).")
	fl.BoolVar(&o.showKind, "show-kind", false, "If present, list the resource type for the requested object(s).")
	fl.BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "If set to true, suppresses NotFound error for specific objects that do not exist. Using this flag with commands that query for collections of resources has no effect when no resources are found.")
	fl.Int64Var(&o.chunkSize, "chunk-size", 500, "Return large lists in chunks rather than all at once. Pass 0 to disable. This flag is beta and may change in the future.")
	fl.StringSliceVarP(&o.filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to get from a server.")
	fl.BoolVarP(&o.recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	fl.BoolVar(&o.showManagedFields, "show-managed-fields", false, "If true, keep the managedFields when printing objects in JSON or YAML format.")
	fl.BoolVar(&o.allowMissingKeys, "allow-missing-template-keys", true, "If true, ignore any errors in templates when a field or map key is missing in the template. Only applies to golang and jsonpath output formats.")
	fl.StringVar(&o.raw, "raw", "", "Raw URI to request from the server.  Uses the transport specified by the kubeconfig file.")
	fl.StringVar(&o.subresource, "subresource", "", "If specified, gets the subresource of the requested object.")
	fl.BoolVar(&o.serverPrint, "server-print", true, "If true, have the server return the appropriate table output. Supports extension APIs and CRDs.")
	return cmd
}

// target is one thing to fetch: a whole collection (name "") or one object.
type target struct {
	mapping   *meta.RESTMapping
	namespace string // "" for cluster-scoped resources and -A
	name      string
}

// kindPrefix is how names are prefixed when several kinds print:
// "pod", "deployment.apps".
func (t target) kindPrefix() string {
	return strings.TrimSuffix(resource.KindName(t.mapping, ""), "/")
}

// env is what a run needs from the factory.
type env struct {
	f         *factory.Factory
	rest      rest.Interface
	namespace string
}

func (o *options) run(ctx context.Context, f *factory.Factory, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if o.raw != "" {
		return o.runRaw(ctx, f, args)
	}
	if err := o.complete(); err != nil {
		return err
	}
	if len(args) == 0 && len(o.filenames) == 0 {
		fmt.Fprint(f.IO.ErrOut, "You must specify the type of resource to get. Use \"navctl api-resources\" for a complete list of supported resources.\n\n")
		fmt.Fprintln(f.IO.ErrOut, "error: Required resource not specified.")
		fmt.Fprintln(f.IO.ErrOut, "Use \"navctl explain <resource>\" for a detailed description of that resource (e.g. navctl explain pods).")
		fmt.Fprintln(f.IO.ErrOut, "See 'navctl get -h' for help and examples")
		return &cli.ExitError{Code: 1}
	}
	targets, singleItem, err := o.targets(f, args)
	if err != nil {
		return err
	}
	rc, err := f.RESTClient()
	if err != nil {
		return err
	}
	ns, _, err := f.Namespace()
	if err != nil {
		return err
	}
	e := &env{f: f, rest: rc, namespace: ns}
	if o.watch || o.watchOnly {
		return o.runWatch(ctx, e, targets)
	}
	if o.humanReadable() {
		return o.runTable(ctx, e, targets)
	}
	return o.runObjects(ctx, e, targets, singleItem)
}

// complete checks flag combinations and folds --template into -o.
func (o *options) complete() error {
	switch o.output {
	case "go-template", "go-template-file", "template", "templatefile", "jsonpath", "jsonpath-as-json", "jsonpath-file", "custom-columns", "custom-columns-file":
		if o.template != "" {
			o.output += "=" + o.template
		}
	case "":
		if o.template != "" {
			o.output = "go-template=" + o.template
		}
	}
	if len(o.filenames) > 0 && o.allNamespaces {
		o.allNamespaces = false
	}
	if !o.humanReadable() && o.showLabels {
		return fmt.Errorf("--show-labels option cannot be used with %s printer", o.output)
	}
	if !o.humanReadable() {
		// Catch a bad -o before talking to the server.
		if _, err := printers.ForOutput(o.output); err != nil {
			return err
		}
	}
	return nil
}

// humanReadable reports whether the output is a server-side Table.
func (o *options) humanReadable() bool { return o.output == "" || o.output == "wide" }

// targets reads what to get from -f manifests or the arguments. singleItem
// is true when exactly one object was named, so -o json prints the object
// rather than a List.
func (o *options) targets(f *factory.Factory, args []string) ([]target, bool, error) {
	mapper, err := f.Mapper()
	if err != nil {
		return nil, false, err
	}
	ns, _, err := f.Namespace()
	if err != nil {
		return nil, false, err
	}
	if len(o.filenames) > 0 {
		if len(args) > 0 {
			return nil, false, errors.New("when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well")
		}
		ms, err := resource.ReadManifests(o.filenames, o.recursive, f.IO.In)
		if err != nil {
			return nil, false, err
		}
		var out []target
		for _, m := range ms {
			mapping, err := resource.MappingForObject(mapper, m.Object)
			if err != nil {
				return nil, false, err
			}
			t := target{mapping: mapping, name: m.Object.GetName()}
			if resource.Namespaced(mapping) {
				t.namespace = m.Object.GetNamespace()
				if t.namespace == "" {
					t.namespace = ns
				}
			}
			out = append(out, t)
		}
		return out, len(out) == 1, nil
	}
	disc, err := f.Discovery()
	if err != nil {
		return nil, false, err
	}
	refs, err := resource.Resolve(mapper, disc, args)
	if err != nil {
		return nil, false, err
	}
	var out []target
	for _, r := range refs {
		if r.Name != "" && o.selector != "" {
			return nil, false, errors.New("name cannot be provided when a selector is specified")
		}
		t := target{mapping: r.Mapping, name: r.Name}
		if resource.Namespaced(r.Mapping) && !o.allNamespaces {
			t.namespace = ns
		}
		if o.allNamespaces && r.Name != "" && resource.Namespaced(r.Mapping) {
			return nil, false, errors.New("a resource cannot be retrieved by name across all namespaces")
		}
		out = append(out, t)
	}
	return out, len(out) == 1 && out[0].name != "", nil
}

// path is the REST path of a target.
func (t target) path(subresource string) string {
	gv := t.mapping.Resource.GroupVersion()
	p := "/apis/" + gv.String()
	if gv.Group == "" {
		p = "/api/" + gv.Version
	}
	if resource.Namespaced(t.mapping) && t.namespace != "" {
		p += "/namespaces/" + t.namespace
	}
	p += "/" + t.mapping.Resource.Resource
	if t.name != "" {
		p += "/" + t.name
		if subresource != "" {
			p += "/" + subresource
		}
	}
	return p
}

// reportErrors prints each error as kubectl does and returns the exit error.
func reportErrors(e *env, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	for _, err := range errs {
		fmt.Fprintln(e.f.IO.ErrOut, cli.Message(err))
	}
	return &cli.ExitError{Code: 1}
}

// skipNotFound reports whether err is a NotFound that --ignore-not-found hides.
func (o *options) skipNotFound(err error) bool {
	return o.ignoreNotFound && apierrors.IsNotFound(err)
}

// noResources prints kubectl's message for an empty result.
func noResources(e *env, targets []target, allNamespaces bool) {
	namespaced := false
	for _, t := range targets {
		if resource.Namespaced(t.mapping) {
			namespaced = true
		}
	}
	if allNamespaces || !namespaced {
		fmt.Fprintln(e.f.IO.ErrOut, "No resources found")
		return
	}
	fmt.Fprintf(e.f.IO.ErrOut, "No resources found in %s namespace.\n", e.namespace)
}

// runRaw prints the body of a GET of a raw URI (--raw).
func (o *options) runRaw(ctx context.Context, f *factory.Factory, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("arguments may not be passed when --raw is specified")
	}
	rc, err := f.RESTClient()
	if err != nil {
		return err
	}
	res := rc.Get().RequestURI(o.raw).Do(ctx)
	body, err := res.Raw()
	if err != nil {
		return res.Error()
	}
	_, err = f.IO.Out.Write(body)
	return err
}

// listError words a failed list as kubectl does: the server's reason, with
// what was listed and the selectors before its message.
func (o *options) listError(t target, err error) error {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return err
	}
	st := se.Status()
	st.Message = fmt.Sprintf("Unable to find %q that match label selector %q, field selector %q: %s",
		t.mapping.Resource.String(), o.selector, o.fieldSelector, st.Message)
	return &apierrors.StatusError{ErrStatus: st}
}
