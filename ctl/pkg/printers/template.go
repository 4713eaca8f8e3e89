package printers

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"text/template"

	"k8s.io/apimachinery/pkg/runtime"
)

var errNoTemplate = errors.New("template format specified but no template given")

func init() {
	for _, prefix := range []string{"go-template=", "template="} {
		templatePrinters[prefix] = func(arg string) (Printer, error) { return NewGoTemplate(arg) }
	}
	for _, prefix := range []string{"go-template-file=", "templatefile="} {
		templatePrinters[prefix] = func(arg string) (Printer, error) {
			b, err := os.ReadFile(arg)
			if err != nil {
				return nil, fmt.Errorf("error reading --template %s, %w", arg, err)
			}
			return NewGoTemplate(string(b))
		}
	}
}

// GoTemplatePrinter prints objects through a Go text/template
// (-o go-template=...), with kubectl's extra functions "exists" and
// "base64decode".
type GoTemplatePrinter struct {
	raw string
	t   *template.Template
}

// NewGoTemplate parses a Go template.
func NewGoTemplate(text string) (*GoTemplatePrinter, error) {
	if text == "" {
		return nil, errNoTemplate
	}
	t, err := template.New("output").Funcs(template.FuncMap{
		"exists":       exists,
		"base64decode": base64decode,
	}).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("error parsing template %s, %w", text, err)
	}
	return &GoTemplatePrinter{raw: text, t: t}, nil
}

// AllowMissingKeys chooses whether a key missing from an object prints
// "<no value>" (the default) or fails (--allow-missing-template-keys=false).
func (p *GoTemplatePrinter) AllowMissingKeys(allow bool) {
	if allow {
		p.t.Option("missingkey=default")
	} else {
		p.t.Option("missingkey=error")
	}
}

// PrintObj executes the template on obj as generic JSON values.
func (p *GoTemplatePrinter) PrintObj(obj runtime.Object, w io.Writer) error {
	data, err := jsonData(obj)
	if err != nil {
		return err
	}
	if err := p.t.Execute(w, data); err != nil {
		return fmt.Errorf("error executing template %q: %w", p.raw, err)
	}
	return nil
}

// exists reports whether the path of keys and indexes leads to a value.
func exists(item any, indices ...any) bool {
	cur := item
	for _, idx := range indices {
		switch v := cur.(type) {
		case map[string]any:
			k, ok := idx.(string)
			if !ok {
				return false
			}
			if cur, ok = v[k]; !ok {
				return false
			}
		case []any:
			i, ok := idx.(int)
			if !ok || i < 0 || i >= len(v) {
				return false
			}
			cur = v[i]
		default:
			return false
		}
	}
	return true
}

func base64decode(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("base64 decode failed: %v", err)
	}
	return string(b), nil
}
