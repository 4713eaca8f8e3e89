// Package explain is navctl explain: the documentation of a resource and its
// fields, read from the server's OpenAPI v3 schemas and laid out as kubectl
// explain lays it out.
package explain

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const long = `Describe fields and structure of various resources.

 This command describes the fields associated with each supported API resource. Fields are identified via a simple JSONPath identifier:

        <type>.<fieldName>[.<fieldName>]

 Information about each field is retrieved from the server in OpenAPI format.

Use "navctl api-resources" for a complete list of supported resources.`

const example = `  # Get the documentation of the resource and its fields
  navctl explain pods

  # Get all the fields in the resource
  navctl explain pods --recursive

  # Get the explanation for deployment in supported api versions
  navctl explain deployments --api-version=apps/v1

  # Get the documentation of a specific field of a resource
  navctl explain pods.spec.containers`

type options struct {
	apiVersion string
	recursive  bool
	output     string
}

// NewCommand returns navctl explain.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "explain TYPE [--recursive=FALSE|TRUE] [--api-version=api-version-group] [-o|--output=plaintext]",
		DisableFlagsInUseLine: true,
		Short:                 "Get documentation for a resource",
		Long:                  long,
		Example:               example,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(f, args)
		},
	}
	cmd.Flags().StringVar(&o.apiVersion, "api-version", "", "Get different explanations for particular API version (API group/version)")
	cmd.Flags().BoolVar(&o.recursive, "recursive", false, "Print the fields of fields (Currently only 1 level deep)")
	cmd.Flags().StringVarP(&o.output, "output", "o", "plaintext", "Format in which to render the schema (plaintext)")
	return cmd
}

func (o *options) run(f *factory.Factory, args []string) error {
	if len(args) == 0 {
		return errors.New(`You must specify the type of resource to explain. Use "navctl api-resources" for a complete list of supported resources.`)
	}
	if len(args) > 1 {
		return fmt.Errorf("We accept only this format: explain RESOURCE")
	}
	if o.output != "plaintext" {
		return fmt.Errorf("unsupported output format: %s", o.output)
	}
	mapper, err := f.Mapper()
	if err != nil {
		return err
	}
	m, fields, err := splitResource(mapper, args[0])
	if err != nil {
		// kubectl explain reports an unknown type without "error: ".
		fmt.Fprintln(f.IO.ErrOut, strings.TrimPrefix(err.Error(), "error: "))
		return &cli.ExitError{Code: 1}
	}
	gvk := m.GroupVersionKind
	if o.apiVersion != "" {
		gv, err := schema.ParseGroupVersion(o.apiVersion)
		if err != nil {
			return err
		}
		vm, err := mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: gvk.Kind}, gv.Version)
		if err != nil {
			return fmt.Errorf("couldn't find resource for %q", gv.WithResource(m.Resource.Resource).String())
		}
		gvk = vm.GroupVersionKind
	}
	doc, err := o.document(f, gvk.GroupVersion())
	if err != nil {
		return err
	}
	root, err := doc.kindSchema(gvk)
	if err != nil {
		return err
	}
	return render(f.IO.Out, doc, gvk, root, fields, o.recursive)
}

// splitResource splits "deployments.apps.spec.replicas" into the resource
// (the longest leading "resource[.group]" the server serves) and the field
// path after it.
func splitResource(mapper meta.RESTMapper, arg string) (*meta.RESTMapping, []string, error) {
	parts := strings.Split(arg, ".")
	for i := len(parts); i > 1; i-- {
		m, err := resource.MappingFor(mapper, strings.Join(parts[:i], "."))
		if err == nil && m.GroupVersionKind.Group == strings.Join(parts[1:i], ".") {
			return m, parts[i:], nil
		}
	}
	m, err := resource.MappingFor(mapper, parts[0])
	if err != nil {
		return nil, nil, err
	}
	return m, parts[1:], nil
}

// document fetches the OpenAPI v3 document of a group version.
func (o *options) document(f *factory.Factory, gv schema.GroupVersion) (*document, error) {
	disc, err := f.Discovery()
	if err != nil {
		return nil, err
	}
	paths, err := disc.OpenAPIV3().Paths()
	if err != nil {
		return nil, fmt.Errorf("failed to fetch the OpenAPI v3 index: %w", err)
	}
	key := "apis/" + gv.String()
	if gv.Group == "" {
		key = "api/" + gv.Version
	}
	p, ok := paths[key]
	if !ok {
		return nil, fmt.Errorf("couldn't find resource for %q", gv.String())
	}
	raw, err := p.Schema("application/json")
	if err != nil {
		return nil, fmt.Errorf("failed to fetch the OpenAPI v3 schema of %s: %w", gv, err)
	}
	d := &document{}
	if err := json.Unmarshal(raw, &d.raw); err != nil {
		return nil, fmt.Errorf("decode the OpenAPI v3 schema of %s: %w", gv, err)
	}
	comps, _ := d.raw["components"].(map[string]any)
	d.schemas, _ = comps["schemas"].(map[string]any)
	return d, nil
}

// document is one group version's OpenAPI v3 document.
type document struct {
	raw     map[string]any
	schemas map[string]any
}

// kindSchema finds the schema tagged with a group, version and kind.
func (d *document) kindSchema(gvk schema.GroupVersionKind) (map[string]any, error) {
	for _, name := range sortedKeys(d.schemas) {
		s, _ := d.schemas[name].(map[string]any)
		tags, _ := s["x-kubernetes-group-version-kind"].([]any)
		for _, t := range tags {
			tag, _ := t.(map[string]any)
			if tag["group"] == gvk.Group && tag["version"] == gvk.Version && tag["kind"] == gvk.Kind {
				return s, nil
			}
		}
	}
	return nil, fmt.Errorf("couldn't find resource for %q", gvk.String())
}

// resolve follows a schema's $ref, or its single allOf element without
// properties of its own, to the schema it names. name is the referenced
// type's short name ("ObjectMeta"), "" when there was no reference.
func (d *document) resolve(s map[string]any) (map[string]any, string) {
	for i := 0; i < 10; i++ {
		if ref, ok := s["$ref"].(string); ok {
			full := ref[strings.LastIndex(ref, "/")+1:]
			target, _ := d.schemas[full].(map[string]any)
			if target == nil {
				return s, ""
			}
			return target, full[strings.LastIndex(full, ".")+1:]
		}
		allOf, _ := s["allOf"].([]any)
		if len(allOf) != 1 || s["properties"] != nil {
			return s, ""
		}
		inner, _ := allOf[0].(map[string]any)
		if inner == nil {
			return s, ""
		}
		s = inner
	}
	return s, ""
}

// typeName is how kubectl explain names a schema's type: "string",
// "[]Container", "map[string]Quantity", "ObjectMeta", "Object".
func (d *document) typeName(s map[string]any) string {
	if items, ok := s["items"].(map[string]any); ok {
		return "[]" + d.typeName(items)
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		return "map[string]" + d.typeName(ap)
	}
	resolved, name := d.resolve(s)
	if name != "" {
		if t, ok := resolved["type"].(string); ok && t != "object" && t != "array" {
			return t
		}
		return name
	}
	if t, ok := s["type"].(string); ok {
		if t == "object" && s["properties"] == nil {
			return "Object"
		}
		return t
	}
	return "Object"
}

// inner is the schema a field's value is made of: its items, its map
// values, or itself, with references followed.
func (d *document) inner(s map[string]any) map[string]any {
	for i := 0; i < 10; i++ {
		if items, ok := s["items"].(map[string]any); ok {
			s = items
			continue
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			s = ap
			continue
		}
		break
	}
	r, _ := d.resolve(s)
	return r
}

func render(w io.Writer, d *document, gvk schema.GroupVersionKind, root map[string]any, path []string, recursive bool) error {
	var b strings.Builder
	if gvk.Group != "" {
		fmt.Fprintf(&b, "GROUP:      %s\n", gvk.Group)
	}
	fmt.Fprintf(&b, "KIND:       %s\n", gvk.Kind)
	fmt.Fprintf(&b, "VERSION:    %s\n\n", gvk.Version)

	cur := root
	desc := str(root["description"])
	for i, name := range path {
		props, _ := d.inner(cur)["properties"].(map[string]any)
		field, ok := props[name].(map[string]any)
		if !ok {
			io.WriteString(w, b.String())
			return fmt.Errorf("field %q does not exist", name)
		}
		cur = field
		desc = str(field["description"])
		if typeDesc := str(d.inner(field)["description"]); typeDesc != "" && typeDesc != desc && d.hasRef(field) {
			desc += "\n" + typeDesc
		}
		if i == len(path)-1 {
			fmt.Fprintf(&b, "FIELD: %s <%s>\n\n\n", name, d.typeName(field))
		}
	}
	b.WriteString("DESCRIPTION:\n")
	b.WriteString(indent(wrap(desc+"\n", 76), "    "))
	b.WriteString("\n")
	target := d.inner(cur)
	props, _ := target["properties"].(map[string]any)
	if len(props) > 0 {
		b.WriteString("FIELDS:\n")
		d.fields(&b, target, 1, recursive, map[string]bool{})
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// hasRef reports whether a field's value type is a named schema.
func (d *document) hasRef(s map[string]any) bool {
	for i := 0; i < 10; i++ {
		if items, ok := s["items"].(map[string]any); ok {
			s = items
			continue
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			s = ap
			continue
		}
		break
	}
	_, name := d.resolve(s)
	return name != ""
}

// fields prints a schema's fields by name: with descriptions, or (recursive)
// only names and types, nested a level deeper per field of fields.
func (d *document) fields(b *strings.Builder, s map[string]any, level int, recursive bool, seen map[string]bool) {
	props, _ := s["properties"].(map[string]any)
	required := map[string]bool{}
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			required[str(r)] = true
		}
	}
	pad := strings.Repeat("  ", level)
	for _, name := range sortedKeys(props) {
		field, _ := props[name].(map[string]any)
		req := ""
		if required[name] {
			req = " -required-"
		}
		fmt.Fprintf(b, "%s%s\t<%s>%s\n", pad, name, d.typeName(field), req)
		if !recursive {
			if desc := str(field["description"]); desc != "" {
				b.WriteString(indent(wrap(desc, 76), "    "))
				b.WriteString("\n")
			}
			b.WriteString("\n")
			continue
		}
		inner := d.inner(field)
		typ := d.typeName(field)
		if _, ok := inner["properties"].(map[string]any); ok && !seen[typ] {
			seen[typ] = true
			d.fields(b, inner, level+1, recursive, seen)
			delete(seen, typ)
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// indent prefixes every line of s, empty ones too.
func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}

// wrap breaks text into lines of at most limit characters at white space,
// keeping its own line breaks and runs of spaces; a word longer than the
// limit stays whole on its own line.
func wrap(text string, limit int) string {
	var out, word, space strings.Builder
	line, wordLen, spaceLen := 0, 0, 0
	flushWord := func() {
		line += spaceLen + wordLen
		out.WriteString(space.String())
		out.WriteString(word.String())
		space.Reset()
		word.Reset()
		spaceLen, wordLen = 0, 0
	}
	for _, r := range text {
		switch {
		case r == '\n':
			flushWord()
			out.WriteRune(r)
			line = 0
		case r == ' ' || r == '\t':
			if space.Len() == 0 || word.Len() > 0 {
				flushWord()
			}
			space.WriteRune(r)
			spaceLen++
		default:
			word.WriteRune(r)
			wordLen++
			if line+spaceLen+wordLen > limit && wordLen < limit {
				out.WriteRune('\n')
				line = 0
				space.Reset()
				spaceLen = 0
			}
		}
	}
	flushWord()
	return out.String()
}
