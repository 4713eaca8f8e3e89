// Package cli is how navctl talks to its user: the input and output streams,
// error messages worded as kubectl words them, and exit codes.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IOStreams are a command's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// StdStreams are the process's own streams.
func StdStreams() IOStreams { return IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr} }

// ExitError carries an exit code for a failure already reported to the user.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// UsageError is a mistake in how the command was called. Cmd, when set, is
// the command path ("navctl drain") the hint after the message points to.
type UsageError struct {
	Msg string
	Cmd string
}

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// Message is the text kubectl prints for err: "Error from server (NotFound):
// pods "x" not found" for API errors, "error: ..." for the rest.
func Message(err error) string {
	if m, ok := connectionMessage(err); ok {
		return m
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		msg := st.Message
		if st.Reason == metav1.StatusReasonInvalid && st.Details != nil && len(st.Details.Causes) > 0 && !strings.Contains(msg, st.Details.Causes[0].Message) {
			var parts []string
			for _, c := range st.Details.Causes {
				parts = append(parts, fmt.Sprintf("%s: %s", c.Field, c.Message))
			}
			msg += ": " + strings.Join(parts, ", ")
		}
		if st.Reason == "" || st.Reason == metav1.StatusReasonUnknown {
			return "Error from server: " + msg
		}
		return fmt.Sprintf("Error from server (%s): %s", st.Reason, msg)
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "error: ") {
		return msg
	}
	return "error: " + msg
}

// Report prints err to w the way kubectl does and returns the exit code:
// 0 for nil, the code of an ExitError, 1 otherwise.
func Report(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var me *MultiError
	if errors.As(err, &me) {
		for _, e := range me.Errs {
			fmt.Fprintln(w, strings.TrimPrefix(Message(e), "error: "))
		}
		return 1
	}
	if m, ok := invalidMessage(err); ok {
		fmt.Fprintln(w, m)
		return 1
	}
	fmt.Fprintln(w, Message(err))
	var ue *UsageError
	if errors.As(err, &ue) {
		if ue.Cmd != "" {
			fmt.Fprintf(w, "See '%s -h' for help and examples\n", ue.Cmd)
		} else {
			fmt.Fprintln(w, "See 'navctl <command> --help' for usage.")
		}
	}
	return 1
}
