// Package events describes events.k8s.io/v1 Events to the generic store. They
// are stored as core/v1 Events, so both APIs see the same objects; this
// package converts between the two the way upstream does.
package events

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/core"
	"navarch.dev/apiserver/pkg/registry/typedstrategy"
)

// Resources returns the events.k8s.io/v1 resources.
func Resources() []*registry.Resource {
	return []*registry.Resource{{
		GroupVersion: eventsv1.SchemeGroupVersion, Plural: "events", Singular: "event", Kind: "Event", ListKind: "EventList",
		Namespaced: true, ShortNames: []string{"ev"},
		New:      func() runtime.Object { return &eventsv1.Event{} },
		NewList:  func() runtime.Object { return &eventsv1.EventList{} },
		Strategy: eventStrategy,
		Fields:   eventFields,
		Storage: &registry.StorageVersion{
			GroupVersion: corev1.SchemeGroupVersion,
			Plural:       "events",
			ToStorage:    toStorage,
			FromStorage:  fromStorage,
		},
	}}
}

var eventStrategy = typedstrategy.Funcs[*eventsv1.Event]{
	Namespaced: true,
	Check: func(ev *eventsv1.Event) field.ErrorList {
		return core.ValidateEvent(ToCore(ev), true)
	},
	CheckUpdate: func(ev, old *eventsv1.Event) field.ErrorList {
		return core.ValidateEventUpdate(ToCore(ev), ToCore(old), true)
	},
}

// eventFields serves the core/v1 selectable fields (involvedObject.name, ...)
// for events.k8s.io events too, as upstream does; it accepts either type.
func eventFields(obj runtime.Object) fields.Set {
	switch ev := obj.(type) {
	case *eventsv1.Event:
		return core.EventFields(ToCore(ev))
	case *corev1.Event:
		return core.EventFields(ev)
	}
	return nil
}

func toStorage(obj runtime.Object) (runtime.Object, error) {
	ev, ok := obj.(*eventsv1.Event)
	if !ok {
		return nil, fmt.Errorf("events: convert to storage: got %T, want *v1.Event (events.k8s.io)", obj)
	}
	return ToCore(ev), nil
}

func fromStorage(obj runtime.Object) (runtime.Object, error) {
	ev, ok := obj.(*corev1.Event)
	if !ok {
		return nil, fmt.Errorf("events: convert from storage: got %T, want *v1.Event (core)", obj)
	}
	return FromCore(ev), nil
}

// ToCore converts an events.k8s.io/v1 Event to the core/v1 Event it is stored
// as: regarding→involvedObject, note→message, deprecatedSource→source,
// deprecated timestamps and count to their core fields, the rest by name.
func ToCore(in *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{
		TypeMeta:            corev1TypeMeta,
		ObjectMeta:          *in.ObjectMeta.DeepCopy(),
		InvolvedObject:      in.Regarding,
		Reason:              in.Reason,
		Message:             in.Note,
		Source:              in.DeprecatedSource,
		FirstTimestamp:      in.DeprecatedFirstTimestamp,
		LastTimestamp:       in.DeprecatedLastTimestamp,
		Count:               in.DeprecatedCount,
		Type:                in.Type,
		EventTime:           in.EventTime,
		Action:              in.Action,
		ReportingController: in.ReportingController,
		ReportingInstance:   in.ReportingInstance,
	}
	if in.Series != nil {
		out.Series = &corev1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	if in.Related != nil {
		r := *in.Related
		out.Related = &r
	}
	return out
}

// FromCore converts a stored core/v1 Event to its events.k8s.io/v1 form; it is
// the inverse of ToCore.
func FromCore(in *corev1.Event) *eventsv1.Event {
	out := &eventsv1.Event{
		TypeMeta:                 eventsv1TypeMeta,
		ObjectMeta:               *in.ObjectMeta.DeepCopy(),
		EventTime:                in.EventTime,
		ReportingController:      in.ReportingController,
		ReportingInstance:        in.ReportingInstance,
		Action:                   in.Action,
		Reason:                   in.Reason,
		Regarding:                in.InvolvedObject,
		Note:                     in.Message,
		Type:                     in.Type,
		DeprecatedSource:         in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp,
		DeprecatedLastTimestamp:  in.LastTimestamp,
		DeprecatedCount:          in.Count,
	}
	if in.Series != nil {
		out.Series = &eventsv1.EventSeries{Count: in.Series.Count, LastObservedTime: in.Series.LastObservedTime}
	}
	if in.Related != nil {
		r := *in.Related
		out.Related = &r
	}
	return out
}

var (
	corev1TypeMeta   = metav1.TypeMeta{APIVersion: corev1.SchemeGroupVersion.String(), Kind: "Event"}
	eventsv1TypeMeta = metav1.TypeMeta{APIVersion: eventsv1.SchemeGroupVersion.String(), Kind: "Event"}
)
