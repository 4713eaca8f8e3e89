// Package printers renders API objects as navctl prints them: server-side
// Tables (the default and -o wide), json, yaml, name, jsonpath,
// custom-columns and go-template, and the one-line results of mutations
// ("deployment.apps/web created").
package printers

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Printer prints objects.
type Printer interface {
	PrintObj(obj runtime.Object, w io.Writer) error
}

// PrinterFunc adapts a function.
type PrinterFunc func(obj runtime.Object, w io.Writer) error

func (f PrinterFunc) PrintObj(obj runtime.Object, w io.Writer) error { return f(obj, w) }

// JSON prints objects as indented JSON, as kubectl -o json does.
var JSON = PrinterFunc(func(obj runtime.Object, w io.Writer) error {
	b, err := json.MarshalIndent(obj, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
})

// YAML prints objects as YAML, as kubectl -o yaml does.
var YAML = PrinterFunc(func(obj runtime.Object, w io.Writer) error {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
})

// Name prints "<kind>.<group>/<name>" per object (each item of a list).
var Name = PrinterFunc(printName)

func printName(obj runtime.Object, w io.Writer) error {
	if meta.IsListType(obj) {
		items, err := meta.ExtractList(obj)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := printName(it, w); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := fmt.Fprintln(w, KindName(obj))
	return err
}

// KindName is "<lower-case kind>[.<group>]/<name>" of an object.
func KindName(obj runtime.Object) string {
	gvk := obj.GetObjectKind().GroupVersionKind()
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	name := ""
	if m, err := meta.Accessor(obj); err == nil {
		name = m.GetName()
	}
	return kind + "/" + name
}

// Operation prints the one-line result of a mutation, e.g.
// "deployment.apps/web created", with " (dry run)" or " (server dry run)".
// With output set (-o json|yaml|name) the object is printed that way instead.
func Operation(w io.Writer, obj runtime.Object, verb, dryRun, output string) error {
	if output != "" {
		p, err := ForOutput(output)
		if err != nil {
			return err
		}
		return p.PrintObj(obj, w)
	}
	suffix := ""
	switch dryRun {
	case "client":
		suffix = " (dry run)"
	case "server":
		suffix = " (server dry run)"
	}
	_, err := fmt.Fprintf(w, "%s %s%s\n", KindName(obj), verb, suffix)
	return err
}

// ForOutput returns the printer for an -o value other than the table ones
// (wide, the default): json, yaml, name, and those added by other files of
// this package (jsonpath=, custom-columns=, go-template=).
func ForOutput(output string) (Printer, error) {
	switch output {
	case "json":
		return JSON, nil
	case "yaml":
		return YAML, nil
	case "name":
		return Name, nil
	}
	for prefix, build := range templatePrinters {
		// A bare "jsonpath" or "custom-columns" is a template format
		// without its template.
		if output+"=" == prefix {
			return build("")
		}
		if strings.HasPrefix(output, prefix) {
			return build(strings.TrimPrefix(output, prefix))
		}
	}
	return nil, fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml", output)
}

// templatePrinters maps an -o prefix ("jsonpath=") to its printer builder.
var templatePrinters = map[string]func(arg string) (Printer, error){}

// AsUnstructured converts a typed object for printers that walk fields.
func AsUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}
