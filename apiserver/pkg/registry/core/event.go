package core

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry/metavalidation"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// Upstream's limits on event fields.
const (
	ReportingInstanceLengthLimit = 128
	ActionLengthLimit            = 128
	ReasonLengthLimit            = 128
	NoteLengthLimit              = 1024
)

var eventStrategy = typedstrategy.Funcs[*corev1.Event]{
	Namespaced: true,
	Check: func(ev *corev1.Event) field.ErrorList {
		return ValidateEvent(ev, false)
	},
	CheckUpdate: func(ev, old *corev1.Event) field.ErrorList {
		return ValidateEventUpdate(ev, old, false)
	},
}

// ValidateEvent validates a core/v1 event. eventsAPI selects the strict rules
// applied to events written through events.k8s.io (eventTime, reporting
// controller and instance, action and reason required); core/v1 writes get the
// lenient legacy rules. Field paths use the core/v1 names, as upstream's do.
func ValidateEvent(ev *corev1.Event, eventsAPI bool) field.ErrorList {
	var errs field.ErrorList
	reportingPath := field.NewPath("reportingComponent")
	if eventsAPI {
		reportingPath = field.NewPath("reportingController")
	}
	nsPath := field.NewPath("involvedObject", "namespace")
	strict := eventsAPI || !ev.EventTime.IsZero()
	if !strict {
		if ev.InvolvedObject.Namespace == "" {
			if ev.Namespace != metav1.NamespaceNone && ev.Namespace != metav1.NamespaceDefault {
				errs = append(errs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, "does not match event.namespace"))
			}
		} else if ev.Namespace != ev.InvolvedObject.Namespace {
			errs = append(errs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else {
		if ev.InvolvedObject.Namespace == "" && ev.Namespace != metav1.NamespaceDefault && ev.Namespace != metav1.NamespaceSystem {
			errs = append(errs, field.Invalid(nsPath, ev.InvolvedObject.Namespace, "does not match event.namespace"))
		}
		if ev.ReportingController == "" {
			errs = append(errs, field.Required(reportingPath, ""))
		} else {
			errs = append(errs, metavalidation.ValidateQualifiedName(ev.ReportingController, reportingPath)...)
		}
		if ev.ReportingInstance == "" {
			errs = append(errs, field.Required(field.NewPath("reportingInstance"), ""))
		}
		if ev.Action == "" {
			errs = append(errs, field.Required(field.NewPath("action"), ""))
		}
		if ev.Reason == "" {
			errs = append(errs, field.Required(field.NewPath("reason"), ""))
		}
		msgPath := field.NewPath("message")
		if eventsAPI {
			msgPath = field.NewPath("note")
		}
		if len(ev.Message) > NoteLengthLimit {
			errs = append(errs, field.Invalid(msgPath, "", fmt.Sprintf("can have at most %v characters", NoteLengthLimit)))
		}
		if len(ev.ReportingInstance) > ReportingInstanceLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("reportingInstance"), "", fmt.Sprintf("can have at most %v characters", ReportingInstanceLengthLimit)))
		}
		if len(ev.Action) > ActionLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("action"), "", fmt.Sprintf("can have at most %v characters", ActionLengthLimit)))
		}
		if len(ev.Reason) > ReasonLengthLimit {
			errs = append(errs, field.Invalid(field.NewPath("reason"), "", fmt.Sprintf("can have at most %v characters", ReasonLengthLimit)))
		}
	}
	if eventsAPI {
		if ev.Type != corev1.EventTypeNormal && ev.Type != corev1.EventTypeWarning {
			errs = append(errs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", ev.Type)))
		}
		if ev.EventTime.IsZero() {
			errs = append(errs, field.Required(field.NewPath("eventTime"), ""))
		}
		if s := ev.Series; s != nil {
			if s.Count < 2 {
				errs = append(errs, field.Invalid(field.NewPath("series", "count"), "", "should be at least 2"))
			}
			if s.LastObservedTime.IsZero() {
				errs = append(errs, field.Required(field.NewPath("series", "lastObservedTime"), ""))
			}
		}
	}
	errs = append(errs, metavalidation.ValidateDNS1123Subdomain(ev.Namespace, field.NewPath("namespace"))...)
	return errs
}

// ValidateEventUpdate reports the changes an update may not make (the new
// event itself is checked with ValidateEvent). Core/v1 writes may change
// anything; events.k8s.io writes may change only the series and metadata.
func ValidateEventUpdate(ev, old *corev1.Event, eventsAPI bool) field.ErrorList {
	if !eventsAPI {
		return nil
	}
	var errs field.ErrorList
	for _, f := range []struct {
		name     string
		new, old any
	}{
		{"involvedObject", ev.InvolvedObject, old.InvolvedObject},
		{"reason", ev.Reason, old.Reason},
		{"message", ev.Message, old.Message},
		{"source", ev.Source, old.Source},
		{"firstTimestamp", ev.FirstTimestamp, old.FirstTimestamp},
		{"lastTimestamp", ev.LastTimestamp, old.LastTimestamp},
		{"count", ev.Count, old.Count},
		{"type", ev.Type, old.Type},
		{"eventTime", ev.EventTime, old.EventTime},
		{"action", ev.Action, old.Action},
		{"related", ev.Related, old.Related},
		{"reportingController", ev.ReportingController, old.ReportingController},
		{"reportingInstance", ev.ReportingInstance, old.ReportingInstance},
	} {
		errs = append(errs, metavalidation.ValidateImmutableField(f.new, f.old, field.NewPath(f.name))...)
	}
	return errs
}

// EventFields returns a core/v1 event's selectable fields (also served for
// events.k8s.io, whose objects are stored as core/v1 events).
func EventFields(ev *corev1.Event) fields.Set {
	source := ev.Source.Component
	if source == "" {
		source = ev.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            ev.InvolvedObject.Kind,
		"involvedObject.namespace":       ev.InvolvedObject.Namespace,
		"involvedObject.name":            ev.InvolvedObject.Name,
		"involvedObject.uid":             string(ev.InvolvedObject.UID),
		"involvedObject.apiVersion":      ev.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": ev.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       ev.InvolvedObject.FieldPath,
		"reason":                         ev.Reason,
		"reportingComponent":             ev.ReportingController,
		"source":                         source,
		"type":                           ev.Type,
	}
}

func eventFields(obj runtime.Object) fields.Set {
	if ev, ok := obj.(*corev1.Event); ok {
		return EventFields(ev)
	}
	return nil
}
