package get

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

// runObjects prints targets as whole objects (-o json|yaml|name|jsonpath|
// custom-columns|go-template): the object itself when exactly one was named,
// else a "kind: List" of everything found.
func (o *options) runObjects(ctx context.Context, e *env, targets []target, singleItem bool) error {
	p, err := o.printer()
	if err != nil {
		return err
	}
	var items []unstructured.Unstructured
	var errs []error
	for _, t := range targets {
		got, err := o.fetchObjects(ctx, e, t)
		if err != nil {
			if !o.skipNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		items = append(items, got...)
	}
	for i := range items {
		o.prepare(&items[i])
	}
	if o.sortBy != "" && len(items) > 0 {
		if err := printers.SortItems(items, o.sortBy); err != nil {
			errs = append(errs, err)
			return reportErrors(e, errs)
		}
	}
	var obj runtime.Object
	switch {
	case singleItem && len(items) == 1:
		obj = &items[0]
	case singleItem && len(items) == 0 && len(errs) == 0:
		// --ignore-not-found of the one object asked for prints nothing.
		return nil
	default:
		obj = NewList(items)
	}
	if err := p.PrintObj(obj, e.f.IO.Out); err != nil {
		errs = append(errs, err)
	}
	return reportErrors(e, errs)
}

// NewList is the "kind: List" kubectl prints for several objects.
func NewList(items []unstructured.Unstructured) *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "List",
		"metadata":   map[string]any{"resourceVersion": ""},
	}}
	l.Items = items
	if l.Items == nil {
		l.Items = []unstructured.Unstructured{}
	}
	return l
}

// printer is the printer of the -o value, with --no-headers applied.
func (o *options) printer() (printers.Printer, error) {
	p, err := printers.ForOutput(o.output)
	if err != nil {
		return nil, err
	}
	switch tp := p.(type) {
	case *printers.CustomColumnsPrinter:
		tp.NoHeaders = o.noHeaders
	case *printers.JSONPathPrinter:
		tp.AllowMissingKeys(o.allowMissingKeys)
	case *printers.GoTemplatePrinter:
		tp.AllowMissingKeys(o.allowMissingKeys)
	}
	return p, nil
}

// prepare drops what kubectl does not print: managedFields unless
// --show-managed-fields.
func (o *options) prepare(u *unstructured.Unstructured) {
	if !o.showManagedFields {
		unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
	}
}

// fetchObjects gets one object or a whole collection (in chunks).
func (o *options) fetchObjects(ctx context.Context, e *env, t target) ([]unstructured.Unstructured, error) {
	dyn, err := e.f.Dynamic()
	if err != nil {
		return nil, err
	}
	c := resource.Client(dyn, t.mapping, t.namespace)
	if t.name != "" {
		var subs []string
		if o.subresource != "" {
			subs = []string{o.subresource}
		}
		u, err := c.Get(ctx, t.name, metav1.GetOptions{}, subs...)
		if err != nil {
			return nil, err
		}
		return []unstructured.Unstructured{*u}, nil
	}
	var out []unstructured.Unstructured
	opts := metav1.ListOptions{LabelSelector: o.selector, FieldSelector: o.fieldSelector, Limit: o.chunkSize}
	for {
		l, err := c.List(ctx, opts)
		if err != nil {
			return nil, o.listError(t, err)
		}
		for i := range l.Items {
			it := l.Items[i]
			if it.GetKind() == "" {
				it.SetGroupVersionKind(t.mapping.GroupVersionKind)
			}
			out = append(out, it)
		}
		if l.GetContinue() == "" {
			return out, nil
		}
		opts.Continue = l.GetContinue()
	}
}
