package framework

import (
	"errors"
	"strings"
)

// Code is the outcome of running a plugin.
type Code int

// Status codes. Success, Unschedulable, UnschedulableAndUnresolvable, Wait
// and Skip are expected outcomes; Error means something broke.
const (
	// Success: the plugin ran and the pod may go on (a nil *Status is Success).
	Success Code = iota
	// Error: an internal fault; the pod is retried with backoff.
	Error
	// Unschedulable: the pod does not fit now; preemption may help.
	Unschedulable
	// UnschedulableAndUnresolvable: the pod does not fit and evicting pods
	// on the node would not change that, so preemption skips the node.
	UnschedulableAndUnresolvable
	// Wait is returned by permit plugins (unused so far).
	Wait
	// Skip from PreFilter or PreScore means the plugin's Filter or Score is
	// not needed for this pod and is not called.
	Skip
)

var codeNames = []string{"Success", "Error", "Unschedulable", "UnschedulableAndUnresolvable", "Wait", "Skip"}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Unknown"
}

// Status is a plugin's verdict: a code, human-readable reasons (as shown in
// the FailedScheduling event) and, for Error, the underlying error. A nil
// *Status means Success.
type Status struct {
	code    Code
	reasons []string
	err     error
	plugin  string
}

// NewStatus returns a status with code and reasons.
func NewStatus(code Code, reasons ...string) *Status {
	s := &Status{code: code, reasons: reasons}
	if code == Error && len(reasons) > 0 {
		s.err = errors.New(strings.Join(reasons, ", "))
	}
	return s
}

// AsStatus wraps err in an Error status; nil gives nil.
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, reasons: []string{err.Error()}, err: err}
}

// Code returns the code; Success for nil.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports whether s is nil or Success.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsSkip reports whether s is Skip.
func (s *Status) IsSkip() bool { return s.Code() == Skip }

// IsRejected reports whether s says the pod does not fit (either
// unschedulable code).
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// Reasons returns the reasons.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Message joins the reasons with ", ".
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.reasons, ", ")
}

// Plugin returns the name of the plugin that produced s, if recorded.
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin records the plugin that produced s and returns s.
func (s *Status) WithPlugin(name string) *Status {
	if s != nil {
		s.plugin = name
	}
	return s
}

// AsError returns the status as an error: nil for Success and Skip, the
// wrapped error for Error, and an error of the message otherwise.
func (s *Status) AsError() error {
	switch s.Code() {
	case Success, Skip:
		return nil
	case Error:
		if s.err != nil {
			return s.err
		}
	}
	return errors.New(s.Message())
}

func (s *Status) String() string {
	if s == nil {
		return "Success"
	}
	if len(s.reasons) == 0 {
		return s.code.String()
	}
	return s.code.String() + ": " + s.Message()
}

// DefaultNormalizeScore scales scores so the highest becomes maxScore
// (with reverse, the highest becomes 0 and 0 becomes maxScore).
func DefaultNormalizeScore(maxScore int64, reverse bool, scores NodeScoreList) *Status {
	var highest int64
	for _, s := range scores {
		highest = max(highest, s.Score)
	}
	if highest == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = maxScore
			}
		}
		return nil
	}
	for i := range scores {
		s := scores[i].Score * maxScore / highest
		if reverse {
			s = maxScore - s
		}
		scores[i].Score = s
	}
	return nil
}
