package endpoints

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// fieldValidation reads the fieldValidation parameter (default Warn as upstream).
func fieldValidation(r *http.Request) (string, error) {
	v := r.URL.Query().Get("fieldValidation")
	switch v {
	case "":
		return "Warn", nil
	case "Ignore", "Warn", "Strict":
		return v, nil
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation parameter unsupported: %v", v))
}

// bodyJSON returns the request body as JSON, converting YAML.
func bodyJSON(r *http.Request, body []byte) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt := "application/json"
	if ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			return nil, unsupportedMediaType(ct)
		}
	}
	switch mt {
	case "application/json", "*/*":
		return body, nil
	case "application/yaml":
		j, err := yaml.YAMLToJSON(body)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("error converting YAML to JSON: %v", err))
		}
		return j, nil
	}
	return nil, unsupportedMediaType(ct)
}

// decodeInto decodes JSON into obj following the fieldValidation mode: unknown
// and duplicate fields are an error with Strict, a Warning header with Warn.
func decodeInto(w http.ResponseWriter, data []byte, obj runtime.Object, mode string) error {
	if len(strings.TrimSpace(string(data))) == 0 {
		return apierrors.NewBadRequest("the body of the request was empty")
	}
	if mode == "Ignore" {
		if err := kjson.UnmarshalCaseSensitivePreserveInts(data, obj); err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("error decoding request body: %v", err))
		}
		return nil
	}
	strictErrs, err := kjson.UnmarshalStrict(data, obj)
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("error decoding request body: %v", err))
	}
	if len(strictErrs) == 0 || mode == "Ignore" {
		return nil
	}
	if mode == "Strict" {
		msgs := make([]string, 0, len(strictErrs))
		for _, e := range strictErrs {
			msgs = append(msgs, e.Error())
		}
		return apierrors.NewBadRequest("strict decoding error: " + strings.Join(msgs, ", "))
	}
	for _, e := range strictErrs {
		if w == nil {
			break
		}
		w.Header().Add("Warning", fmt.Sprintf("299 - %q", e.Error()))
	}
	return nil
}

// checkKind rejects a body whose apiVersion/kind is not the endpoint's.
func checkKind(obj runtime.Object, want schema.GroupVersionKind) error {
	got := obj.GetObjectKind().GroupVersionKind()
	if got.Kind != "" && got.Kind != want.Kind {
		return apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", got.Kind, want.Kind))
	}
	if got.Version != "" && got.GroupVersion() != want.GroupVersion() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", got.GroupVersion().String(), want.GroupVersion().String()))
	}
	return nil
}

// decodeBody reads, converts and decodes the request body as the endpoint's kind.
func decodeBody(w http.ResponseWriter, r *http.Request, ep *Endpoint) (runtime.Object, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	mode, err := fieldValidation(r)
	if err != nil {
		return nil, err
	}
	if isProtobuf(r.Header.Get("Content-Type")) {
		obj := ep.Resource.New()
		if err := decodeProtobuf(body, obj); err != nil {
			return nil, err
		}
		return obj, checkKind(obj, ep.Resource.GroupVersionKind())
	}
	data, err := bodyJSON(r, body)
	if err != nil {
		return nil, err
	}
	obj := ep.Resource.New()
	if err := decodeInto(w, data, obj, mode); err != nil {
		return nil, err
	}
	if err := checkKind(obj, ep.Resource.GroupVersionKind()); err != nil {
		return nil, err
	}
	return obj, nil
}

// unsupportedMediaType is the 415 a body of an unknown content type gets.
func unsupportedMediaType(ct string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnsupportedMediaType,
		Reason:  metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format (%s) - accepted media types include: application/json, application/yaml", ct),
	}}
}

// notAcceptable is the 406 for an Accept header the server cannot satisfy.
func notAcceptable(accept string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotAcceptable,
		Reason:  metav1.StatusReasonNotAcceptable,
		Message: fmt.Sprintf("only the following media types are accepted: application/json, application/yaml (requested %q)", accept),
	}}
}
