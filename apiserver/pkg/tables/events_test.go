package tables

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestEventCells(t *testing.T) {
	podRef := corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", FieldPath: "spec.containers{app}"}
	tests := []struct {
		name string
		obj  runtime.Object
		want map[string]interface{}
	}{
		{
			name: "core event",
			obj: &corev1.Event{ObjectMeta: objectMeta("web-1.17f"), InvolvedObject: podRef, Type: corev1.EventTypeWarning, Reason: "BackOff",
				Message: "Back-off restarting failed container app\n", Source: corev1.EventSource{Component: "kubelet", Host: "node-a"},
				FirstTimestamp: ago(time.Hour), LastTimestamp: ago(2 * time.Minute), Count: 7},
			want: map[string]interface{}{
				"LAST SEEN": "2m", "TYPE": "Warning", "REASON": "BackOff", "OBJECT": "pod/web-1", "SUBOBJECT": "spec.containers{app}",
				"SOURCE": "kubelet, node-a", "MESSAGE": "Back-off restarting failed container app", "FIRST SEEN": "60m", "COUNT": int64(7), "NAME": "web-1.17f",
			},
		},
		{
			name: "event without last timestamp shows first seen twice",
			obj: &corev1.Event{ObjectMeta: objectMeta("e"), InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "node-a"},
				Type: corev1.EventTypeNormal, Reason: "Starting", Source: corev1.EventSource{Component: "kubelet"}, FirstTimestamp: ago(3 * time.Minute)},
			want: map[string]interface{}{"LAST SEEN": "3m", "FIRST SEEN": "3m", "OBJECT": "node/node-a", "SOURCE": "kubelet", "COUNT": int64(1)},
		},
		{
			name: "event of a kind without name",
			obj:  &corev1.Event{ObjectMeta: objectMeta("e"), InvolvedObject: corev1.ObjectReference{Kind: "Cluster"}},
			want: map[string]interface{}{"OBJECT": "cluster", "LAST SEEN": "<unknown>", "SOURCE": ""},
		},
		{
			name: "new-style event with series and reporting controller",
			obj: &corev1.Event{ObjectMeta: objectMeta("e"), InvolvedObject: podRef, EventTime: metav1.NewMicroTime(now.Add(-30 * time.Minute)),
				Series:              &corev1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(now.Add(-40 * time.Second))},
				ReportingController: "navarch.dev/scheduler", ReportingInstance: "scheduler-0"},
			want: map[string]interface{}{"LAST SEEN": "40s", "FIRST SEEN": "30m", "COUNT": int64(4), "SOURCE": "navarch.dev/scheduler, scheduler-0"},
		},
		{
			name: "events.k8s.io event",
			obj: &eventsv1.Event{ObjectMeta: objectMeta("web-1.18a"), Regarding: podRef, Type: corev1.EventTypeNormal, Reason: "Scheduled",
				Note: "Successfully assigned default/web-1 to node-a", EventTime: microAgo(20 * time.Second),
				ReportingController: "default-scheduler", ReportingInstance: "default-scheduler-cp1", Action: "Binding"},
			want: map[string]interface{}{
				"LAST SEEN": "20s", "TYPE": "Normal", "REASON": "Scheduled", "OBJECT": "pod/web-1", "SUBOBJECT": "spec.containers{app}",
				"SOURCE": "default-scheduler, default-scheduler-cp1", "MESSAGE": "Successfully assigned default/web-1 to node-a",
				"FIRST SEEN": "20s", "COUNT": int64(1), "NAME": "web-1.18a",
			},
		},
		{
			name: "events.k8s.io event with series and deprecated fields",
			obj: &eventsv1.Event{ObjectMeta: objectMeta("e"), Regarding: corev1.ObjectReference{Kind: "Deployment", Name: "web"},
				DeprecatedFirstTimestamp: ago(2 * time.Hour), DeprecatedSource: corev1.EventSource{Component: "deployment-controller"},
				Series: &eventsv1.EventSeries{Count: 9, LastObservedTime: microAgo(5 * time.Minute)}},
			want: map[string]interface{}{"LAST SEEN": "5m", "FIRST SEEN": "120m", "COUNT": int64(9), "OBJECT": "deployment/web", "SOURCE": "deployment-controller"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertCells(t, row(t, tc.obj), tc.want)
		})
	}
}
