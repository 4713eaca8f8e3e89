package get

import (
	"context"
	"fmt"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

// fetched is one target's Table.
type fetched struct {
	target target
	table  *metav1.Table
}

// runTable prints targets as the server's Tables: one table per run of
// targets of the same kind, a blank line between tables, errors after.
func (o *options) runTable(ctx context.Context, e *env, targets []target) error {
	var results []fetched
	var errs []error
	for _, t := range targets {
		tbl, err := o.fetchTable(ctx, e, t)
		if err != nil {
			if !o.skipNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		if o.sortBy != "" {
			if err := printers.SortTableRows(tbl, o.sortBy); err != nil {
				// kubectl prints nothing of a table it cannot sort.
				tbl.Rows = nil
			}
		}
		results = append(results, fetched{target: t, table: tbl})
	}
	showKind := o.showKind || distinctKinds(results) > 1
	printed := 0
	for i := 0; i < len(results); {
		// Merge the run of results of the same resource into one table.
		j := i + 1
		tbl := *results[i].table
		for ; j < len(results) && results[j].target.mapping.Resource == results[i].target.mapping.Resource; j++ {
			tbl.Rows = append(append([]metav1.TableRow(nil), tbl.Rows...), results[j].table.Rows...)
		}
		t := results[i].target
		i = j
		if len(tbl.Rows) == 0 {
			continue
		}
		if printed > 0 {
			fmt.Fprintln(e.f.IO.Out)
		}
		printed++
		opts := o.tableOptions(t, showKind)
		if err := printers.PrintTable(&tbl, opts, e.f.IO.Out); err != nil {
			return err
		}
	}
	if printed == 0 && len(errs) == 0 && !namedOnly(targets) {
		noResources(e, targets, o.allNamespaces)
	}
	return reportErrors(e, errs)
}

// tableOptions are the printing options for a target's table.
func (o *options) tableOptions(t target, showKind bool) printers.TableOptions {
	opts := printers.TableOptions{
		NoHeaders:     o.noHeaders,
		Wide:          o.output == "wide",
		WithNamespace: o.allNamespaces && resource.Namespaced(t.mapping),
		ShowLabels:    o.showLabels,
		LabelColumns:  o.labelColumns,
	}
	if showKind {
		opts.Kind = t.kindPrefix()
	}
	return opts
}

// namedOnly reports whether every target names an object.
func namedOnly(targets []target) bool {
	for _, t := range targets {
		if t.name == "" {
			return false
		}
	}
	return len(targets) > 0
}

func distinctKinds(results []fetched) int {
	seen := map[string]bool{}
	for _, r := range results {
		seen[r.target.mapping.GroupVersionKind.GroupKind().String()] = true
	}
	return len(seen)
}

// fetchTable gets a target as a Table, a collection in chunks of
// --chunk-size merged into one.
func (o *options) fetchTable(ctx context.Context, e *env, t target) (*metav1.Table, error) {
	var all *metav1.Table
	cont := ""
	for {
		req := e.rest.Get().AbsPath(t.path(o.subresource))
		if o.serverPrint {
			req.SetHeader("Accept", printers.TableAccept)
		}
		if o.sortBy != "" {
			req.Param("includeObject", "Object")
		}
		if t.name == "" {
			if o.selector != "" {
				req.Param("labelSelector", o.selector)
			}
			if o.fieldSelector != "" {
				req.Param("fieldSelector", o.fieldSelector)
			}
			if o.chunkSize > 0 {
				req.Param("limit", strconv.FormatInt(o.chunkSize, 10))
			}
			if cont != "" {
				req.Param("continue", cont)
			}
		}
		res := req.Do(ctx)
		raw, err := res.Raw()
		if err != nil {
			if t.name == "" {
				return nil, o.listError(t, res.Error())
			}
			return nil, res.Error()
		}
		tbl, err := asTable(raw)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = tbl
		} else {
			all.Rows = append(all.Rows, tbl.Rows...)
		}
		if t.name != "" || tbl.Continue == "" {
			return all, nil
		}
		cont = tbl.Continue
	}
}

// asTable decodes a server answer as a Table; an object or list that is not
// a Table (--server-print=false, a resource without table support) becomes
// kubectl's default NAME/AGE table.
func asTable(raw []byte) (*metav1.Table, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	if u.GetKind() == "Table" {
		return printers.DecodeTable(raw)
	}
	var objs []unstructured.Unstructured
	if u.IsList() {
		l, err := u.ToList()
		if err != nil {
			return nil, err
		}
		objs = l.Items
	} else {
		objs = []unstructured.Unstructured{*u}
	}
	return defaultTable(objs, time.Now()), nil
}

// defaultTable is the NAME and AGE table kubectl prints for objects the
// server gives no Table for.
func defaultTable(objs []unstructured.Unstructured, now time.Time) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name"},
		{Name: "Age", Type: "string"},
	}}
	for i := range objs {
		age := "<unknown>"
		if ts := objs[i].GetCreationTimestamp(); !ts.IsZero() {
			age = duration.HumanDuration(now.Sub(ts.Time))
		}
		raw, _ := objs[i].MarshalJSON()
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []any{objs[i].GetName(), age}, Object: runtime.RawExtension{Raw: raw}})
	}
	return t
}
