package events

import (
	"navarch.dev/apiserver/pkg/registry/resourcetest"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newEvent() *eventsv1.Event {
	now := metav1.NewMicroTime(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.1", Namespace: "default", ResourceVersion: "1"},
		EventTime:           now,
		Series:              &eventsv1.EventSeries{Count: 2, LastObservedTime: now},
		ReportingController: "example.com/controller",
		ReportingInstance:   "controller-1",
		Action:              "Scale",
		Reason:              "ScaledUp",
		Regarding:           corev1.ObjectReference{Kind: "Deployment", Namespace: "default", Name: "web"},
		Related:             &corev1.ObjectReference{Kind: "ReplicaSet", Namespace: "default", Name: "web-1"},
		Note:                "scaled up to 3",
		Type:                corev1.EventTypeNormal,
		DeprecatedSource:    corev1.EventSource{Component: "legacy"},
		DeprecatedCount:     7,
	}
}

func TestConversion(t *testing.T) {
	ev := newEvent()
	stored, err := toStorage(ev)
	if err != nil {
		t.Fatal(err)
	}
	core := stored.(*corev1.Event)
	checks := []struct {
		name      string
		got, want any
	}{
		{"kind", core.APIVersion + "/" + core.Kind, "v1/Event"},
		{"involvedObject", core.InvolvedObject.Name, "web"},
		{"message", core.Message, "scaled up to 3"},
		{"reportingComponent", core.ReportingController, "example.com/controller"},
		{"source", core.Source.Component, "legacy"},
		{"count", core.Count, int32(7)},
		{"series", core.Series.Count, int32(2)},
		{"related", core.Related.Name, "web-1"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
	back, err := fromStorage(core)
	if err != nil {
		t.Fatal(err)
	}
	ev.APIVersion, ev.Kind = "events.k8s.io/v1", "Event"
	if !reflect.DeepEqual(back, ev) {
		t.Errorf("round trip changed the event:\n got %+v\nwant %+v", back, ev)
	}
	if _, err := toStorage(core); err == nil {
		t.Errorf("toStorage accepted a core event")
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(e *eventsv1.Event)
		want   []string
	}{
		{name: "valid", mutate: func(e *eventsv1.Event) {}},
		{name: "eventTime required", mutate: func(e *eventsv1.Event) { e.EventTime = metav1.MicroTime{} },
			want: []string{"eventTime: Required value"}},
		{name: "reportingController required", mutate: func(e *eventsv1.Event) { e.ReportingController = "" },
			want: []string{"reportingController: Required value"}},
		{name: "type must be Normal or Warning", mutate: func(e *eventsv1.Event) { e.Type = "Info" },
			want: []string{"type: Invalid value"}},
		{name: "series count", mutate: func(e *eventsv1.Event) { e.Series.Count = 1 },
			want: []string{"series.count: Invalid value"}},
		{name: "action required", mutate: func(e *eventsv1.Event) { e.Action = "" },
			want: []string{"action: Required value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent()
			tt.mutate(e)
			resourcetest.SameErrs(t, resourcetest.Create(eventStrategy, e), tt.want)
		})
	}
	t.Run("update may change the series only", func(t *testing.T) {
		old := newEvent()
		e := newEvent()
		e.Series.Count = 5
		resourcetest.SameErrs(t, resourcetest.Update(eventStrategy, e, old), nil)
		e.Note = "changed"
		resourcetest.SameErrs(t, resourcetest.Update(eventStrategy, e, old), []string{"message: Invalid value"})
	})
	t.Run("fields use core names", func(t *testing.T) {
		f := eventFields(newEvent())
		if f["involvedObject.name"] != "web" || f["reason"] != "ScaledUp" || f["source"] != "legacy" {
			t.Errorf("fields = %v", f)
		}
	})
}
