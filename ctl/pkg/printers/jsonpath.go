package printers

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/jsonpath"
)

func init() {
	templatePrinters["jsonpath="] = func(arg string) (Printer, error) { return NewJSONPath(arg, false) }
	templatePrinters["jsonpath-as-json="] = func(arg string) (Printer, error) { return NewJSONPath(arg, true) }
	templatePrinters["jsonpath-file="] = func(arg string) (Printer, error) {
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, fmt.Errorf("error reading --template %s, %w", arg, err)
		}
		return NewJSONPath(string(b), false)
	}
}

// JSONPathPrinter prints the result of a jsonpath template (-o jsonpath=...);
// a list prints as one object with its items under "items".
type JSONPathPrinter struct {
	text         string
	jp           *jsonpath.JSONPath
	allowMissing bool
}

// NewJSONPath parses a jsonpath template. With asJSON the results print as
// a JSON array (-o jsonpath-as-json=...). Missing keys print nothing.
func NewJSONPath(text string, asJSON bool) (*JSONPathPrinter, error) {
	if text == "" {
		return nil, errNoTemplate
	}
	jp, err := newJSONPath("out", text, true)
	if err != nil {
		return nil, err
	}
	jp.EnableJSONOutput(asJSON)
	return &JSONPathPrinter{text: text, jp: jp, allowMissing: true}, nil
}

// AllowMissingKeys chooses whether a key missing from an object prints
// nothing (the default) or fails (--allow-missing-template-keys=false).
func (p *JSONPathPrinter) AllowMissingKeys(allow bool) {
	p.allowMissing = allow
	p.jp.AllowMissingKeys(allow)
}

func newJSONPath(name, text string, allowMissing bool) (*jsonpath.JSONPath, error) {
	jp := jsonpath.New(name).AllowMissingKeys(allowMissing)
	if err := jp.Parse(text); err != nil {
		return nil, fmt.Errorf("error parsing jsonpath %s, %w", text, err)
	}
	return jp, nil
}

// PrintObj prints the template's results for obj.
func (p *JSONPathPrinter) PrintObj(obj runtime.Object, w io.Writer) error {
	data, err := jsonData(obj)
	if err != nil {
		return err
	}
	if err := p.jp.Execute(w, data); err != nil {
		if p.allowMissing {
			return fmt.Errorf("error executing jsonpath %q: %w", p.text, err)
		}
		return fmt.Errorf("error executing jsonpath %q: Error executing template: %v. Printing more information for debugging the template:\n\ttemplate was:\n\t\t%v\n\tobject given to jsonpath engine was:\n\t\t%#v\n\n", p.text, err, p.text, data)
	}
	return nil
}

// jsonData is obj as generic JSON values (maps, slices, float64), the form
// the template engines walk.
func jsonData(obj runtime.Object) (any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var data any
	if err := json.Unmarshal(b, &data); err != nil {
		return nil, err
	}
	return data, nil
}

var relaxedJSONPathRe = regexp.MustCompile(`^\{?\.?([^{}]+)\}?$`)

// RelaxedJSONPath accepts the path forms kubectl accepts in --sort-by and
// custom-columns (".a.b", "a.b", "{.a.b}", "{a.b}") and returns the
// template form "{.a.b}".
func RelaxedJSONPath(path string) (string, error) {
	path = strings.TrimSpace(path)
	if path == "" {
		return "", fmt.Errorf("jsonpath expression cannot be empty")
	}
	if strings.HasPrefix(path, "{") != strings.HasSuffix(path, "}") {
		return "", fmt.Errorf("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'")
	}
	m := relaxedJSONPathRe.FindStringSubmatch(path)
	if m == nil {
		return "", fmt.Errorf("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'")
	}
	return "{." + m[1] + "}", nil
}
