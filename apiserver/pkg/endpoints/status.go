package endpoints

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StatusFor turns an error into the Status body and HTTP code a client sees.
// Errors that are not API errors are internal errors (500).
func StatusFor(err error) *metav1.Status {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		st.Kind, st.APIVersion = "Status", "v1"
		if st.Status == "" {
			st.Status = metav1.StatusFailure
		}
		return &st
	}
	st := apierrors.NewInternalError(err).ErrStatus
	st.Kind, st.APIVersion = "Status", "v1"
	return &st
}

// WriteError writes err as a Status body with its code.
func WriteError(w http.ResponseWriter, err error) {
	st := StatusFor(err)
	if st.Code >= 500 {
		slog.Error("request failed", "code", st.Code, "err", err)
	}
	code := int(st.Code)
	if code == 0 {
		code = http.StatusInternalServerError
	}
	WriteJSON(w, code, st)
}

// WriteJSON writes v as a JSON response with code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func writeRaw(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
