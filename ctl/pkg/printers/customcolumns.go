package printers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/jsonpath"
)

func init() {
	templatePrinters["custom-columns="] = func(arg string) (Printer, error) {
		if arg == "" {
			return nil, errors.New("custom-columns format specified but no custom columns given")
		}
		return NewCustomColumns(arg)
	}
	templatePrinters["custom-columns-file="] = func(arg string) (Printer, error) {
		f, err := os.Open(arg)
		if err != nil {
			return nil, fmt.Errorf("error reading template %s, %w", arg, err)
		}
		defer f.Close()
		return CustomColumnsFromFile(f)
	}
}

// Column is one custom column: its header and the jsonpath of its value.
type Column struct {
	Header string
	Path   string
}

// CustomColumnsPrinter prints one row per object with the values of each
// column's jsonpath (-o custom-columns=NAME:.metadata.name,...).
type CustomColumnsPrinter struct {
	Columns   []Column
	NoHeaders bool
	paths     []*jsonpath.JSONPath
}

// NewCustomColumns parses "HEADER:path,HEADER:path".
func NewCustomColumns(spec string) (*CustomColumnsPrinter, error) {
	var cols []Column
	for _, part := range strings.Split(spec, ",") {
		h, p, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("unexpected custom-columns spec: %s, expected <header>:<json-path-expr>", part)
		}
		cols = append(cols, Column{Header: h, Path: p})
	}
	return newCustomColumns(cols)
}

// CustomColumnsFromFile reads a custom-columns template: a line of headers
// and a line of jsonpaths, separated by white space.
func CustomColumnsFromFile(r io.Reader) (*CustomColumnsPrinter, error) {
	sc := bufio.NewScanner(r)
	var lines []string
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(lines) != 2 {
		return nil, fmt.Errorf("invalid template, expected two lines, got %d", len(lines))
	}
	headers, paths := strings.Fields(lines[0]), strings.Fields(lines[1])
	if len(headers) != len(paths) {
		return nil, fmt.Errorf("number of headers (%d) and field specifications (%d) don't match", len(headers), len(paths))
	}
	cols := make([]Column, len(headers))
	for i := range headers {
		cols[i] = Column{Header: headers[i], Path: paths[i]}
	}
	return newCustomColumns(cols)
}

func newCustomColumns(cols []Column) (*CustomColumnsPrinter, error) {
	p := &CustomColumnsPrinter{Columns: cols}
	for _, c := range cols {
		expr, err := RelaxedJSONPath(c.Path)
		if err != nil {
			return nil, err
		}
		jp, err := newJSONPath(c.Header, expr, true)
		if err != nil {
			return nil, err
		}
		p.paths = append(p.paths, jp)
	}
	return p, nil
}

// PrintObj prints a header (unless NoHeaders) and one row per object; a
// list prints a row per item.
func (p *CustomColumnsPrinter) PrintObj(obj runtime.Object, w io.Writer) error {
	cw := NewColumnWriter(w)
	if !p.NoHeaders {
		h := make([]string, len(p.Columns))
		for i, c := range p.Columns {
			h[i] = c.Header
		}
		cw.Write(h)
	}
	objs := []runtime.Object{obj}
	if meta.IsListType(obj) {
		items, err := meta.ExtractList(obj)
		if err != nil {
			return err
		}
		objs = items
	}
	for _, o := range objs {
		row, err := p.row(o)
		if err != nil {
			return err
		}
		cw.Write(row)
	}
	return cw.Flush()
}

func (p *CustomColumnsPrinter) row(obj runtime.Object) ([]string, error) {
	data, err := jsonData(obj)
	if err != nil {
		return nil, err
	}
	row := make([]string, len(p.paths))
	for i, jp := range p.paths {
		res, err := jp.FindResults(data)
		if err != nil {
			return nil, err
		}
		var vals []string
		for _, set := range res {
			for _, v := range set {
				vals = append(vals, columnValue(v))
			}
		}
		if len(vals) == 0 {
			row[i] = "<none>"
		} else {
			row[i] = strings.Join(vals, ",")
		}
	}
	return row, nil
}

// columnValue prints a found value with %v, as kubectl's custom columns do
// (a map prints in Go's "map[k:v]" form).
func columnValue(v reflect.Value) string {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "<none>"
		}
		v = v.Elem()
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%v", v.Interface())
	return b.String()
}
