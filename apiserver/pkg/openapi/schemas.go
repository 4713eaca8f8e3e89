package openapi

import (
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Vendor extensions Kubernetes clients read from the documents.
const (
	extGVK           = "x-kubernetes-group-version-kind"
	extAction        = "x-kubernetes-action"
	extPatchStrategy = "x-kubernetes-patch-strategy"
	extPatchMergeKey = "x-kubernetes-patch-merge-key"
	extListType      = "x-kubernetes-list-type"
	extListMapKeys   = "x-kubernetes-list-map-keys"
	extMapType       = "x-kubernetes-map-type"
)

// The interfaces apimachinery's scalar wrappers (Time, MicroTime, Duration,
// Quantity, IntOrString) implement to tell OpenAPI generators their wire form.
type (
	openAPISchemaTyper   interface{ OpenAPISchemaType() []string }
	openAPISchemaFormat  interface{ OpenAPISchemaFormat() string }
	openAPIV3OneOfTyper  interface{ OpenAPIV3OneOfTypes() []string }
	swaggerDocumentation interface{ SwaggerDoc() map[string]string }
)

// typeDocs describes the apimachinery types that carry no SwaggerDoc of their own.
var typeDocs = map[reflect.Type]string{
	reflect.TypeFor[metav1.Time]():          "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON. It is serialized as an RFC 3339 date-time string.",
	reflect.TypeFor[metav1.MicroTime]():     "MicroTime is a version of Time with microsecond level precision.",
	reflect.TypeFor[metav1.Duration]():      "Duration is a wrapper around time.Duration, serialized as a Go duration string such as \"1h30m\".",
	reflect.TypeFor[resource.Quantity]():    "Quantity is a fixed-point representation of a number, serialized as a string such as \"100m\", \"1Gi\" or \"2.5e3\": a signed number followed by an optional binary (Ki, Mi, Gi, Ti, Pi, Ei) or decimal (m, k, M, G, T, P, E) suffix or a decimal exponent.",
	reflect.TypeFor[intstr.IntOrString]():   "IntOrString is a type that can hold an int32 or a string. When used in JSON or YAML it produces or consumes the inner type, so a field can accept either a name or a number.",
	reflect.TypeFor[runtime.RawExtension](): "RawExtension holds an embedded object of any kind, serialized as that object's own JSON.",
}

// definitionName is the REST-friendly OpenAPI name of a named Go type:
// k8s.io/api/core/v1.Pod becomes io.k8s.api.core.v1.Pod.
func definitionName(t reflect.Type) string {
	parts := strings.Split(t.PkgPath(), "/")
	if strings.Contains(parts[0], ".") {
		host := strings.Split(parts[0], ".")
		for i, j := 0, len(host)-1; i < j; i, j = i+1, j-1 {
			host[i], host[j] = host[j], host[i]
		}
		parts[0] = strings.Join(host, ".")
	}
	return strings.Join(parts, ".") + "." + t.Name()
}

// schemaBuilder turns Go types into OpenAPI schemas by reflection. It builds one
// definition per named struct (and per apimachinery scalar wrapper) and inlines
// everything else. A builder renders either OpenAPI v2 (refs under
// #/definitions/, scalar wrappers with a single type) or v3 (refs under
// #/components/schemas/, oneOf for the wrappers, described refs wrapped in allOf).
type schemaBuilder struct {
	v3   bool
	defs map[string]*spec.Schema
	// gvks are the kinds each definition stands for, by definition name.
	gvks map[string][]schema.GroupVersionKind
}

func newSchemaBuilder(v3 bool, gvks map[string][]schema.GroupVersionKind) *schemaBuilder {
	return &schemaBuilder{v3: v3, defs: map[string]*spec.Schema{}, gvks: gvks}
}

func (b *schemaBuilder) refPrefix() string {
	if b.v3 {
		return "#/components/schemas/"
	}
	return "#/definitions/"
}

// refTo returns a schema referring to the definition of t, building the
// definition (and everything it refers to) on first use.
func (b *schemaBuilder) refTo(t reflect.Type) spec.Schema {
	name := b.define(t)
	return spec.Schema{SchemaProps: spec.SchemaProps{Ref: spec.MustCreateRef(b.refPrefix() + name)}}
}

// define ensures a definition for the named type t exists and returns its name.
func (b *schemaBuilder) define(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := definitionName(t)
	if _, ok := b.defs[name]; ok {
		return name
	}
	def := &spec.Schema{}
	// Registered before the fields are walked, so recursive types end in a ref.
	b.defs[name] = def
	if !b.scalarWrapper(t, def) {
		def.Type = spec.StringOrArray{"object"}
		b.addFields(def, t)
		def.Description = typeDoc(t)[""]
	}
	if def.Description == "" {
		def.Description = typeDocs[t]
	}
	if mt, ok := mapTypes[name]; ok {
		def.AddExtension(extMapType, mt)
	}
	if gvks := b.gvks[name]; len(gvks) > 0 {
		list := make([]any, 0, len(gvks))
		for _, gvk := range gvks {
			list = append(list, map[string]any{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind})
		}
		def.AddExtension(extGVK, list)
	}
	return name
}

// scalarWrapper fills def for types that declare their own OpenAPI form and
// reports whether t is such a type.
func (b *schemaBuilder) scalarWrapper(t reflect.Type, def *spec.Schema) bool {
	v := reflect.New(t).Elem().Interface()
	typer, ok := v.(openAPISchemaTyper)
	if !ok {
		return false
	}
	format := ""
	if f, ok := v.(openAPISchemaFormat); ok {
		format = f.OpenAPISchemaFormat()
	}
	def.Format = format
	if oneOf, ok := v.(openAPIV3OneOfTyper); ok && b.v3 {
		for _, typ := range oneOf.OpenAPIV3OneOfTypes() {
			def.OneOf = append(def.OneOf, spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{typ}}})
		}
		return true
	}
	def.Type = spec.StringOrArray(typer.OpenAPISchemaType())
	return true
}

// typeDoc returns the SwaggerDoc of the struct type t: "" describes the type,
// the other keys are json field names.
func typeDoc(t reflect.Type) map[string]string {
	if d, ok := reflect.New(t).Elem().Interface().(swaggerDocumentation); ok {
		return d.SwaggerDoc()
	}
	return nil
}

// addFields adds the json-visible fields of the struct type t to s, flattening
// embedded and inline structs as encoding/json does.
func (b *schemaBuilder) addFields(s *spec.Schema, t reflect.Type) {
	docs := typeDoc(t)
	owner := ""
	if t.Name() != "" {
		owner = definitionName(t)
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				b.addFields(s, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		prop := b.schemaFor(f.Type)
		b.describe(&prop, docs[name])
		if strategy := f.Tag.Get("patchStrategy"); strategy != "" {
			prop.AddExtension(extPatchStrategy, strategy)
		}
		if key := f.Tag.Get("patchMergeKey"); key != "" {
			prop.AddExtension(extPatchMergeKey, key)
		}
		if lt, ok := listTypes[owner+"."+name]; ok {
			prop.AddExtension(extListType, lt.listType)
			if len(lt.keys) > 0 {
				prop.AddExtension(extListMapKeys, lt.keys)
			}
		}
		if s.Properties == nil {
			s.Properties = map[string]spec.Schema{}
		}
		s.Properties[name] = prop
		if !hasOption(opts, "omitempty") && !hasOption(opts, "omitzero") && !optionalFields[owner+"."+name] {
			s.Required = append(s.Required, name)
		}
	}
	sort.Strings(s.Required)
}

func hasOption(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// describe attaches a field description. A described reference is wrapped in
// allOf for OpenAPI v3, where siblings of $ref are ignored; v2 clients read the
// description beside the $ref.
func (b *schemaBuilder) describe(prop *spec.Schema, description string) {
	if description == "" {
		return
	}
	if b.v3 && prop.Ref.String() != "" {
		*prop = spec.Schema{SchemaProps: spec.SchemaProps{AllOf: []spec.Schema{*prop}}}
	}
	prop.Description = description
}

var (
	bytesType = reflect.TypeFor[[]byte]()
)

// schemaFor returns the schema of a value of type t as it appears inside
// another schema: a ref for structs, an inline schema otherwise.
func (b *schemaBuilder) schemaFor(t reflect.Type) spec.Schema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == bytesType || (t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8) {
		return typed("string", "byte")
	}
	switch t.Kind() {
	case reflect.Struct:
		if t.Name() == "" {
			s := spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"object"}}}
			b.addFields(&s, t)
			return s
		}
		return b.refTo(t)
	case reflect.Slice, reflect.Array:
		items := b.schemaFor(t.Elem())
		return spec.Schema{SchemaProps: spec.SchemaProps{
			Type:  spec.StringOrArray{"array"},
			Items: &spec.SchemaOrArray{Schema: &items},
		}}
	case reflect.Map:
		values := b.schemaFor(t.Elem())
		return spec.Schema{SchemaProps: spec.SchemaProps{
			Type:                 spec.StringOrArray{"object"},
			AdditionalProperties: &spec.SchemaOrBool{Allows: true, Schema: &values},
		}}
	case reflect.String:
		return typed("string", "")
	case reflect.Bool:
		return typed("boolean", "")
	case reflect.Int32, reflect.Int16, reflect.Int8, reflect.Uint16, reflect.Uint8:
		return typed("integer", "int32")
	case reflect.Int64, reflect.Int, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return typed("integer", "int64")
	case reflect.Float32, reflect.Float64:
		return typed("number", "double")
	}
	// Interfaces and anything else: any JSON value.
	return spec.Schema{}
}

func typed(typ, format string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{typ}, Format: format}}
}

// refName returns the definition name a $ref schema points to, or "".
func refName(s *spec.Schema) string {
	ref := s.Ref.String()
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// walkRefs calls fn with the name of every definition s refers to directly.
func walkRefs(s *spec.Schema, fn func(name string)) {
	if s == nil {
		return
	}
	if name := refName(s); name != "" {
		fn(name)
	}
	for _, p := range s.Properties {
		walkRefs(&p, fn)
	}
	if s.Items != nil {
		walkRefs(s.Items.Schema, fn)
		for i := range s.Items.Schemas {
			walkRefs(&s.Items.Schemas[i], fn)
		}
	}
	if s.AdditionalProperties != nil {
		walkRefs(s.AdditionalProperties.Schema, fn)
	}
	for i := range s.AllOf {
		walkRefs(&s.AllOf[i], fn)
	}
	for i := range s.OneOf {
		walkRefs(&s.OneOf[i], fn)
	}
}

// closure returns the definitions reachable from the named roots.
func (b *schemaBuilder) closure(roots []string) map[string]*spec.Schema {
	out := map[string]*spec.Schema{}
	var visit func(name string)
	visit = func(name string) {
		if _, seen := out[name]; seen {
			return
		}
		def, ok := b.defs[name]
		if !ok {
			return
		}
		out[name] = def
		walkRefs(def, visit)
	}
	for _, r := range roots {
		visit(r)
	}
	return out
}
