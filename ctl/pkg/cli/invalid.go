package cli

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// invalidMessage is kubectl's wording for a lone Invalid error from the
// server: "The Deployment "web" is invalid: spec.replicas: ...", one cause per
// line ("* ...") when there are several, and "The request is invalid: ..."
// when the server named neither kind nor object.
func invalidMessage(err error) (string, bool) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return "", false
	}
	st := se.Status()
	if st.Reason != metav1.StatusReasonInvalid {
		return "", false
	}
	d := st.Details
	if d == nil {
		s := "The request is invalid"
		if st.Message != "" {
			s += ": " + st.Message
		}
		return s, true
	}
	s := "The request is invalid"
	if d.Kind != "" || d.Name != "" {
		s = fmt.Sprintf("The %s %q is invalid", d.Kind, d.Name)
	}
	switch len(d.Causes) {
	case 0:
		if s == "The request is invalid" && st.Message != "" {
			s += ": " + st.Message
		}
		return s, true
	case 1:
		return s + ": " + causeText(d.Causes[0]), true
	}
	var b strings.Builder
	b.WriteString(s + ": ")
	for _, c := range d.Causes {
		b.WriteString("\n* " + causeText(c))
	}
	return b.String(), true
}

func causeText(c metav1.StatusCause) string { return c.Field + ": " + c.Message }
