package get

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

// runWatch lists the one kind asked for (unless --watch-only) and then
// prints every change until the server ends the watch.
func (o *options) runWatch(ctx context.Context, e *env, targets []target) error {
	if len(targets) == 0 {
		return nil
	}
	for _, t := range targets[1:] {
		if t.mapping.Resource != targets[0].mapping.Resource {
			return errors.New("you may only specify a single resource type")
		}
	}
	if len(targets) > 1 {
		return errors.New("watch is only supported on individual resources and resource collections, but a list of resources is found")
	}
	t := targets[0]
	fieldSel := o.fieldSelector
	if t.name != "" {
		// A named object is watched as the collection filtered to its name.
		byName := fields.OneTermEqualSelector("metadata.name", t.name).String()
		if fieldSel == "" {
			fieldSel = byName
		} else {
			fieldSel += "," + byName
		}
		t.name = ""
	}
	if o.humanReadable() {
		return o.watchTable(ctx, e, t, fieldSel)
	}
	return o.watchObjects(ctx, e, t, fieldSel)
}

// watchEvent is one event of a watch stream as the server frames it.
type watchEvent struct {
	Type   watch.EventType `json:"type"`
	Object json.RawMessage `json:"object"`
}

// tableWatch prints Table rows as they arrive, aligned with the rows before.
type tableWatch struct {
	o       *options
	t       target
	cw      *printers.ColumnWriter
	columns []metav1.TableColumnDefinition
	header  bool
}

func (w *tableWatch) print(tbl *metav1.Table, event watch.EventType) error {
	if len(tbl.ColumnDefinitions) > 0 && w.columns == nil {
		w.columns = tbl.ColumnDefinitions
	}
	tbl.ColumnDefinitions = w.columns
	opts := w.o.tableOptions(w.t, w.o.showKind)
	if w.o.outputWatchEvents {
		opts.EventType = string(event)
	}
	if !w.header && !w.o.noHeaders && len(tbl.Rows) > 0 {
		w.cw.Write(printers.TableHeader(tbl, opts))
		w.header = true
	}
	for _, r := range printers.TableRows(tbl, opts) {
		w.cw.Write(r)
	}
	return w.cw.Flush()
}

func (o *options) watchTable(ctx context.Context, e *env, t target, fieldSel string) error {
	tw := &tableWatch{o: o, t: t, cw: printers.NewColumnWriter(e.f.IO.Out)}
	if o.outputWatchEvents {
		// The EVENT column is as wide as its widest value from the start.
		tw.cw.SetMinWidth(0, len(watch.Modified))
	}
	saved := o.fieldSelector
	o.fieldSelector = fieldSel
	defer func() { o.fieldSelector = saved }()
	// The list gives the resourceVersion to watch from, even when only
	// changes are printed.
	tbl, err := o.fetchTable(ctx, e, t)
	if err != nil {
		return reportErrors(e, []error{err})
	}
	rv := tbl.ResourceVersion
	if !o.watchOnly {
		if o.sortBy != "" {
			_ = printers.SortTableRows(tbl, o.sortBy)
		}
		if err := tw.print(tbl, watch.Added); err != nil {
			return err
		}
	} else if len(tbl.ColumnDefinitions) > 0 {
		tw.columns = tbl.ColumnDefinitions
	}
	req := e.rest.Get().AbsPath(t.path("")).SetHeader("Accept", printers.TableAccept).
		Param("watch", "true").Param("resourceVersion", rv)
	if o.selector != "" {
		req.Param("labelSelector", o.selector)
	}
	if fieldSel != "" {
		req.Param("fieldSelector", fieldSel)
	}
	stream, err := req.Stream(ctx)
	if err != nil {
		return reportErrors(e, []error{err})
	}
	defer stream.Close()
	dec := json.NewDecoder(stream)
	for {
		var ev watchEvent
		if err := dec.Decode(&ev); err != nil {
			// A watch the server or --request-timeout ended is done;
			// only a garbled stream is an error.
			var syntax *json.SyntaxError
			if errors.As(err, &syntax) {
				return err
			}
			return nil
		}
		switch ev.Type {
		case watch.Bookmark:
			continue
		case watch.Error:
			return reportErrors(e, []error{statusError(ev.Object)})
		}
		tbl, err := printers.DecodeTable(ev.Object)
		if err != nil {
			return err
		}
		if err := tw.print(tbl, ev.Type); err != nil {
			return err
		}
	}
}

// watchObjects prints each object, then each change, with the -o printer.
func (o *options) watchObjects(ctx context.Context, e *env, t target, fieldSel string) error {
	p, err := o.printer()
	if err != nil {
		return err
	}
	dyn, err := e.f.Dynamic()
	if err != nil {
		return err
	}
	c := resource.Client(dyn, t.mapping, t.namespace)
	opts := metav1.ListOptions{LabelSelector: o.selector, FieldSelector: fieldSel}
	emit := func(u *unstructured.Unstructured, event watch.EventType) error {
		o.prepare(u)
		if !o.outputWatchEvents {
			return p.PrintObj(u, e.f.IO.Out)
		}
		b, err := json.Marshal(struct {
			Type   watch.EventType `json:"type"`
			Object map[string]any  `json:"object"`
		}{event, u.Object})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.f.IO.Out, string(b))
		return err
	}
	l, err := c.List(ctx, opts)
	if err != nil {
		return reportErrors(e, []error{o.listError(t, err)})
	}
	if !o.watchOnly {
		items := l.Items
		if o.sortBy != "" {
			_ = printers.SortItems(items, o.sortBy)
		}
		for i := range items {
			if items[i].GetKind() == "" {
				items[i].SetGroupVersionKind(t.mapping.GroupVersionKind)
			}
			if err := emit(&items[i], watch.Added); err != nil {
				return err
			}
		}
	}
	opts.ResourceVersion = l.GetResourceVersion()
	w, err := c.Watch(ctx, opts)
	if err != nil {
		return reportErrors(e, []error{err})
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		switch ev.Type {
		case watch.Bookmark:
			continue
		case watch.Error:
			return reportErrors(e, []error{apierrors.FromObject(ev.Object)})
		}
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		if err := emit(u, ev.Type); err != nil {
			return err
		}
	}
	return nil
}

// statusError turns a watch ERROR event's Status into an error.
func statusError(raw json.RawMessage) error {
	var st metav1.Status
	if err := json.Unmarshal(raw, &st); err != nil || st.Message == "" {
		return errors.New(strings.TrimSpace(string(raw)))
	}
	return apierrors.FromObject(&st)
}
