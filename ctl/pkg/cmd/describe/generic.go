package describe

import (
	"fmt"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// describeGeneric describes any object from its fields: the metadata kubectl
// always shows, then every field as "Title Case:" lines nested by depth.
func describeGeneric(d *describer, u *unstructured.Unstructured, w *writer) error {
	w.write(0, "Name:\t%s\n", u.GetName())
	if ns := u.GetNamespace(); ns != "" {
		w.write(0, "Namespace:\t%s\n", ns)
	}
	printLabels(w, 0, "Labels", u.GetLabels())
	printAnnotations(w, 0, "Annotations", u.GetAnnotations())
	w.write(0, "API Version:\t%s\n", u.GetAPIVersion())
	w.write(0, "Kind:\t%s\n", u.GetKind())
	for _, k := range sortedKeys(u.Object) {
		v := u.Object[k]
		switch k {
		case "apiVersion", "kind":
			continue
		case "metadata":
			md, ok := v.(map[string]any)
			if !ok {
				continue
			}
			rest := map[string]any{}
			for mk, mv := range md {
				switch mk {
				case "name", "namespace", "labels", "annotations", "managedFields":
				default:
					rest[mk] = mv
				}
			}
			v = rest
		}
		printField(w, 0, k, v)
	}
	d.printEvents(w, ref{kind: u.GetKind(), namespace: u.GetNamespace(), name: u.GetName(), uid: string(u.GetUID())})
	return nil
}

// printField prints one field: a scalar on its line, a map or list as a
// title line with its contents a level deeper.
func printField(w *writer, level int, key string, v any) {
	switch val := v.(type) {
	case map[string]any:
		w.write(level, "%s:\n", smartLabel(key))
		printMap(w, level+1, val)
	case []any:
		w.write(level, "%s:\n", smartLabel(key))
		for _, item := range val {
			printItem(w, level+1, item)
		}
	default:
		w.write(level, "%s:\t%s\n", smartLabel(key), scalar(v))
	}
}

func printMap(w *writer, level int, m map[string]any) {
	for _, k := range sortedKeys(m) {
		printField(w, level, k, m[k])
	}
}

// printItem prints a list element: a map's fields, or a scalar on its own line.
func printItem(w *writer, level int, item any) {
	switch val := item.(type) {
	case map[string]any:
		printMap(w, level, val)
	case []any:
		for _, it := range val {
			printItem(w, level+1, it)
		}
	default:
		w.write(level, "%s\n", scalar(item))
	}
}

func scalar(v any) string { return fmt.Sprint(v) }

// commonAcronyms stay upper case in field titles.
var commonAcronyms = map[string]bool{"API": true, "URL": true, "UID": true, "OSB": true, "GUID": true}

// smartLabel turns a field name into a title: "holderIdentity" becomes
// "Holder Identity", "uid" becomes "UID". Names with characters other than
// letters and '-' (label keys like "k8s-app") are kept as they are.
func smartLabel(field string) string {
	if strings.IndexFunc(field, func(r rune) bool { return !unicode.IsLetter(r) && r != '-' }) >= 0 {
		return field
	}
	var words []string
	for _, part := range splitCamel(field) {
		if part == "_" {
			continue
		}
		if commonAcronyms[strings.ToUpper(part)] {
			part = strings.ToUpper(part)
		} else {
			part = strings.ToUpper(part[:1]) + part[1:]
		}
		words = append(words, part)
	}
	return strings.Join(words, " ")
}

// splitCamel splits "podIPs" into "pod", "I", "Ps": runs of lower case,
// upper case, digits and other characters, with the last capital of an upper
// run moved to a lower run that follows it ("HTTPServer" → "HTTP", "Server").
func splitCamel(s string) []string {
	class := func(r rune) int {
		switch {
		case unicode.IsLower(r):
			return 1
		case unicode.IsUpper(r):
			return 2
		case unicode.IsDigit(r):
			return 3
		}
		return 4
	}
	var runs [][]rune
	last := 0
	for _, r := range s {
		c := class(r)
		if c == last && len(runs) > 0 {
			runs[len(runs)-1] = append(runs[len(runs)-1], r)
		} else {
			runs = append(runs, []rune{r})
		}
		last = c
	}
	for i := 0; i+1 < len(runs); i++ {
		if len(runs[i]) > 0 && unicode.IsUpper(runs[i][0]) && len(runs[i+1]) > 0 && unicode.IsLower(runs[i+1][0]) {
			runs[i+1] = append([]rune{runs[i][len(runs[i])-1]}, runs[i+1]...)
			runs[i] = runs[i][:len(runs[i])-1]
		}
	}
	var out []string
	for _, r := range runs {
		if len(r) > 0 {
			out = append(out, string(r))
		}
	}
	return out
}
