package printers

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// TableAccept is the Accept header that asks the server for Tables, as
// kubectl get sends it.
const TableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

// TableOptions choose how a server-side Table prints, as kubectl get's
// flags choose it.
type TableOptions struct {
	// NoHeaders drops the header row.
	NoHeaders bool
	// Wide adds the columns of priority > 0 (-o wide).
	Wide bool
	// WithNamespace adds a NAMESPACE column first (-A).
	WithNamespace bool
	// Kind, when set, prefixes each name as "<Kind>/<name>" (several kinds,
	// --show-kind); it is written as KindName writes kinds ("deployment.apps").
	Kind string
	// ShowLabels adds a LABELS column (--show-labels).
	ShowLabels bool
	// LabelColumns adds one column per label key (-L).
	LabelColumns []string
	// EventType, when set, adds an EVENT column first holding it
	// (--output-watch-events).
	EventType string
}

// DecodeTable decodes a meta.k8s.io Table as the server sent it; whole
// numbers in cells become int64, as kubectl reads them.
func DecodeTable(data []byte) (*metav1.Table, error) {
	t := &metav1.Table{}
	if err := utiljson.Unmarshal(data, t); err != nil {
		return nil, fmt.Errorf("decode Table: %w", err)
	}
	if t.Kind != "" && t.Kind != "Table" {
		return nil, fmt.Errorf("the server answered with a %s, not a Table", t.Kind)
	}
	return t, nil
}

// RowObject is the object (or its metadata) the server embedded in a row,
// or nil.
func RowObject(row metav1.TableRow) *unstructured.Unstructured {
	raw := row.Object.Raw
	if len(raw) == 0 {
		return nil
	}
	var m map[string]any
	if err := utiljson.Unmarshal(raw, &m); err != nil || m == nil {
		return nil
	}
	return &unstructured.Unstructured{Object: m}
}

// TableHeader is the header row of t under o.
func TableHeader(t *metav1.Table, o TableOptions) []string {
	var h []string
	if o.EventType != "" {
		h = append(h, "EVENT")
	}
	if o.WithNamespace {
		h = append(h, "NAMESPACE")
	}
	for _, c := range t.ColumnDefinitions {
		if c.Priority != 0 && !o.Wide {
			continue
		}
		h = append(h, strings.ToUpper(c.Name))
	}
	for _, l := range o.LabelColumns {
		h = append(h, labelHeader(l))
	}
	if o.ShowLabels {
		h = append(h, "LABELS")
	}
	return h
}

// labelHeader is the -L column title: the key's last path segment, upper case.
func labelHeader(key string) string {
	if i := strings.LastIndex(key, "/"); i >= 0 {
		key = key[i+1:]
	}
	return strings.ToUpper(key)
}

// TableRows are the body rows of t under o.
func TableRows(t *metav1.Table, o TableOptions) [][]string {
	rows := make([][]string, 0, len(t.Rows))
	for _, r := range t.Rows {
		var cells []string
		obj := RowObject(r)
		if o.EventType != "" {
			cells = append(cells, o.EventType)
		}
		if o.WithNamespace {
			ns := ""
			if obj != nil {
				ns = obj.GetNamespace()
			}
			cells = append(cells, ns)
		}
		for i, c := range t.ColumnDefinitions {
			if c.Priority != 0 && !o.Wide {
				continue
			}
			var v any
			if i < len(r.Cells) {
				v = r.Cells[i]
			}
			s := FormatCell(v)
			if o.Kind != "" && c.Format == "name" {
				s = o.Kind + "/" + s
			}
			cells = append(cells, s)
		}
		var lbls map[string]string
		if obj != nil {
			lbls = obj.GetLabels()
		}
		for _, l := range o.LabelColumns {
			cells = append(cells, lbls[l])
		}
		if o.ShowLabels {
			cells = append(cells, FormatLabels(lbls))
		}
		rows = append(rows, cells)
	}
	return rows
}

// FormatLabels prints labels as "k=v,k2=v2" sorted by key, "<none>" when empty.
func FormatLabels(m map[string]string) string {
	if len(m) == 0 {
		return "<none>"
	}
	return labels.FormatLabels(m)
}

// FormatCell prints one Table cell as kubectl does: strings are cut at the
// first line break and marked "...", other values print with %v.
func FormatCell(v any) string {
	switch val := v.(type) {
	case string:
		if i := strings.IndexAny(val, "\f\n\r"); i >= 0 {
			return escapeTerminal(val[:i]) + "..."
		}
		return escapeTerminal(val)
	default:
		return escapeTerminal(fmt.Sprint(val))
	}
}

// escapeTerminal keeps terminal escape sequences in cells from acting on the
// user's terminal.
func escapeTerminal(s string) string {
	if !strings.ContainsAny(s, "\x1b\t") {
		return s
	}
	return strings.NewReplacer("\x1b", "^[", "\t", " ").Replace(s)
}

// PrintTable prints t under o to w, aligned as kubectl aligns it.
func PrintTable(t *metav1.Table, o TableOptions, w io.Writer) error {
	cw := NewColumnWriter(w)
	if !o.NoHeaders {
		cw.Write(TableHeader(t, o))
	}
	for _, r := range TableRows(t, o) {
		cw.Write(r)
	}
	return cw.Flush()
}

// ColumnWriter aligns rows of cells into columns, each cell padded to its
// column's widest cell plus three spaces (at least six characters) and the
// last cell of a row left unpadded: the layout of kubectl's tab writer. Widths are kept across
// Flush calls and only grow, so rows printed later (a watch) stay aligned
// with those printed before.
type ColumnWriter struct {
	w      io.Writer
	widths []int
	rows   [][]string
}

// minColumnWidth is the narrowest a padded column gets.
const minColumnWidth = 6

// NewColumnWriter returns a ColumnWriter writing to w.
func NewColumnWriter(w io.Writer) *ColumnWriter { return &ColumnWriter{w: w} }

// SetMinWidth makes column col at least width characters wide (before
// padding), as if a cell that wide had been written.
func (c *ColumnWriter) SetMinWidth(col, width int) {
	for len(c.widths) <= col {
		c.widths = append(c.widths, 0)
	}
	c.widths[col] = max(c.widths[col], width)
}

// Write buffers a row until Flush.
func (c *ColumnWriter) Write(row []string) { c.rows = append(c.rows, row) }

// Flush writes the buffered rows.
func (c *ColumnWriter) Flush() error {
	for _, r := range c.rows {
		for i := 0; i < len(r)-1; i++ {
			n := utf8.RuneCountInString(r[i])
			if i >= len(c.widths) {
				c.widths = append(c.widths, 0)
			}
			if n > c.widths[i] {
				c.widths[i] = n
			}
		}
	}
	var b strings.Builder
	for _, r := range c.rows {
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", max(c.widths[i]+3, minColumnWidth)-utf8.RuneCountInString(cell)))
			}
		}
		b.WriteByte('\n')
	}
	c.rows = c.rows[:0]
	_, err := io.WriteString(c.w, b.String())
	return err
}

// SortTableRows sorts t's rows by the value at a jsonpath of each row's
// embedded object (the server must have been asked for includeObject=Object).
func SortTableRows(t *metav1.Table, sortBy string) error {
	objs := make([]map[string]any, len(t.Rows))
	for i, r := range t.Rows {
		if u := RowObject(r); u != nil {
			objs[i] = u.Object
		}
	}
	order, err := SortOrder(objs, sortBy)
	if err != nil {
		return err
	}
	rows := make([]metav1.TableRow, len(t.Rows))
	for i, j := range order {
		rows[i] = t.Rows[j]
	}
	t.Rows = rows
	return nil
}

// SortItems sorts unstructured items by the value at a jsonpath (--sort-by).
func SortItems(items []unstructured.Unstructured, sortBy string) error {
	objs := make([]map[string]any, len(items))
	for i := range items {
		objs[i] = items[i].Object
	}
	order, err := SortOrder(objs, sortBy)
	if err != nil {
		return err
	}
	sorted := make([]unstructured.Unstructured, len(items))
	for i, j := range order {
		sorted[i] = items[j]
	}
	copy(items, sorted)
	return nil
}

// SortOrder returns the indexes of objs in --sort-by order: numbers by value,
// quantities ("100m", "1Gi") by amount, other strings in natural order;
// objects without the field first. Equal keys keep their order.
func SortOrder(objs []map[string]any, sortBy string) ([]int, error) {
	expr, err := RelaxedJSONPath(sortBy)
	if err != nil {
		return nil, err
	}
	jp, err := newJSONPath("sort", expr, true)
	if err != nil {
		return nil, err
	}
	keys := make([]any, len(objs))
	found := false
	for i, o := range objs {
		if o == nil {
			continue
		}
		res, err := jp.FindResults(o)
		if err != nil {
			return nil, fmt.Errorf("error executing jsonpath %q: %w", sortBy, err)
		}
		if len(res) > 0 && len(res[0]) > 0 {
			keys[i] = res[0][0].Interface()
			found = true
		}
	}
	if !found && len(objs) > 0 {
		return nil, fmt.Errorf("couldn't find any field with path %q in the list of objects", expr)
	}
	order := make([]int, len(objs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return lessValue(keys[order[a]], keys[order[b]]) })
	return order, nil
}
