package cli

import (
	"fmt"
	"strings"
)

// CmdUsagef is Usagef for a command: kubectl follows the message with
// "See '<command path> -h' for help and examples".
func CmdUsagef(cmdPath, format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...), Cmd: cmdPath}
}

// MultiError is several failures reported together, one per line and without
// the "error: " prefix, as kubectl prints an aggregate of errors.
type MultiError struct{ Errs []error }

func (e *MultiError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	if len(msgs) == 1 {
		return msgs[0]
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

// Aggregate is nil for no errors, the error itself for one, and a MultiError
// for several: the way kubectl reports the failures of a command that went
// on after the first one.
func Aggregate(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return &MultiError{Errs: errs}
}
