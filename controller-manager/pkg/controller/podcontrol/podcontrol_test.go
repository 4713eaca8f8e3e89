package podcontrol

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	apps "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"navarch.dev/controller-manager/pkg/controller/controllertest"
)

var podsResource = schema.GroupResource{Resource: "pods"}

func newRS(name string) *apps.ReplicaSet {
	return &apps.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)}}
}

func controllerRef(rs *apps.ReplicaSet) *metav1.OwnerReference {
	yes := true
	return &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &yes, BlockOwnerDeletion: &yes}
}

type templateOpt func(*v1.PodTemplateSpec)

func withLabels(l map[string]string) templateOpt {
	return func(t *v1.PodTemplateSpec) { t.Labels = l }
}

func newTemplate(opts ...templateOpt) *v1.PodTemplateSpec {
	t := &v1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      map[string]string{"app": "web"},
			Annotations: map[string]string{"note": "from-template"},
			Finalizers:  []string{"example.com/keep"},
		},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "img:1"}}},
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// failWith makes the fake apiserver refuse verb on pods with err.
func failWith(verb string, err error) func(*fake.Clientset) {
	return func(c *fake.Clientset) {
		c.PrependReactor(verb, "pods", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, err
		})
	}
}

func events(r *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func livePods(t *testing.T, client *fake.Clientset) []v1.Pod {
	t.Helper()
	list, err := client.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func TestCreatePod(t *testing.T) {
	rs := newRS("web")
	terminating := apierrors.NewForbidden(podsResource, "", errors.New("namespace default is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: v1.NamespaceTerminatingCause}}
	quota := apierrors.NewForbidden(podsResource, "", errors.New("exceeded quota: pods"))
	tests := []struct {
		name       string
		template   *v1.PodTemplateSpec
		ref        *metav1.OwnerReference
		setup      func(*fake.Clientset)
		wantErr    bool
		wantPod    bool
		wantEvents []string
	}{
		{
			name:       "creates a pod from the template, controlled by the owner",
			template:   newTemplate(),
			ref:        controllerRef(rs),
			wantPod:    true,
			wantEvents: []string{"Normal SuccessfulCreate Created pod: web-00001"},
		},
		{
			name:     "refuses a template without labels",
			template: newTemplate(withLabels(nil)),
			ref:      controllerRef(rs),
			wantErr:  true,
		},
		{
			name:       "a refused create is reported on the owner",
			template:   newTemplate(),
			ref:        controllerRef(rs),
			setup:      failWith("create", quota),
			wantErr:    true,
			wantEvents: []string{"Warning FailedCreate Error creating: " + quota.Error()},
		},
		{
			name:     "a terminating namespace is expected and not reported",
			template: newTemplate(),
			ref:      controllerRef(rs),
			setup:    failWith("create", terminating),
			wantErr:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			controllertest.GenerateNames(client)
			if tt.setup != nil {
				tt.setup(client)
			}
			rec := record.NewFakeRecorder(10)
			err := Real{Client: client, Recorder: rec}.CreatePod(context.Background(), "default", tt.template, rs, tt.ref)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CreatePod() error = %v, wantErr %v", err, tt.wantErr)
			}
			pods := livePods(t, client)
			if !tt.wantPod {
				if len(pods) != 0 {
					t.Errorf("pods = %v, want none", pods)
				}
			} else {
				if len(pods) != 1 {
					t.Fatalf("got %d pods, want 1", len(pods))
				}
				p := pods[0]
				if p.Name != "web-00001" || p.Labels["app"] != "web" || p.Annotations["note"] != "from-template" ||
					!slices.Equal(p.Finalizers, []string{"example.com/keep"}) || p.Spec.Containers[0].Image != "img:1" {
					t.Errorf("pod = %+v, want the template's metadata and spec under a web- name", p.ObjectMeta)
				}
				if got := metav1.GetControllerOf(&p); got == nil || got.UID != rs.UID || !*got.BlockOwnerDeletion {
					t.Errorf("controller of pod = %+v, want %s blocking its deletion", got, rs.UID)
				}
			}
			if got := events(rec); !slices.Equal(got, tt.wantEvents) {
				t.Errorf("events = %q, want %q", got, tt.wantEvents)
			}
		})
	}
}

// The pod must not share maps or slices with the template: controllers
// create many pods from one cached template.
func TestPodFromTemplateCopies(t *testing.T) {
	tmpl := newTemplate()
	pod := PodFromTemplate(tmpl, "web", nil)
	pod.Labels["app"] = "changed"
	pod.Annotations["note"] = "changed"
	pod.Finalizers[0] = "changed"
	pod.Spec.Containers[0].Image = "changed"
	if want := newTemplate(); fmt.Sprint(tmpl) != fmt.Sprint(want) {
		t.Errorf("template changed through its pod: %+v", tmpl)
	}
	if len(pod.OwnerReferences) != 0 {
		t.Errorf("ownerReferences = %v without a ref, want none", pod.OwnerReferences)
	}
}

func TestDeletePod(t *testing.T) {
	rs := newRS("web")
	existing := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "default"}}
	denied := apierrors.NewForbidden(podsResource, "web-1", errors.New("denied"))
	tests := []struct {
		name       string
		pods       []runtime.Object
		setup      func(*fake.Clientset)
		wantErr    func(error) bool
		wantPods   int
		wantEvents []string
	}{
		{
			name:       "deletes the pod and reports it",
			pods:       []runtime.Object{existing},
			wantErr:    func(err error) bool { return err == nil },
			wantEvents: []string{"Normal SuccessfulDelete Deleted pod: web-1"},
		},
		{
			// Callers count a pod already gone as deleted.
			name:    "a pod already gone is NotFound and not reported",
			wantErr: apierrors.IsNotFound,
		},
		{
			name:       "a refused delete is reported and keeps its cause",
			pods:       []runtime.Object{existing},
			setup:      failWith("delete", denied),
			wantErr:    apierrors.IsForbidden,
			wantPods:   1,
			wantEvents: []string{"Warning FailedDelete Error deleting: " + denied.Error()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.pods...)
			if tt.setup != nil {
				tt.setup(client)
			}
			rec := record.NewFakeRecorder(10)
			err := Real{Client: client, Recorder: rec}.DeletePod(context.Background(), "default", "web-1", rs)
			if !tt.wantErr(err) {
				t.Errorf("DeletePod() error = %v", err)
			}
			if got := len(livePods(t, client)); got != tt.wantPods {
				t.Errorf("%d pods remain, want %d", got, tt.wantPods)
			}
			if got := events(rec); !slices.Equal(got, tt.wantEvents) {
				t.Errorf("events = %q, want %q", got, tt.wantEvents)
			}
		})
	}
}

func TestSlowStartBatch(t *testing.T) {
	errQuota := errors.New("exceeded quota")
	tests := []struct {
		name          string
		count         int
		initial       int
		fail          func(call int64) bool // by call number, from 1
		wantCalls     int64
		wantSuccesses int
	}{
		{name: "all calls succeed", count: 10, initial: 1, fail: never, wantCalls: 10, wantSuccesses: 10},
		{name: "nothing to do", count: 0, initial: 1, fail: never},
		{name: "a first failure stops after one call", count: 100, initial: 1, fail: always, wantCalls: 1},
		{name: "a failing initial batch of two stops after it", count: 100, initial: 2, fail: always, wantCalls: 2},
		// Batches are 1, 2, 4: the failure in the third batch lets the
		// rest of that batch run and nothing after it.
		{name: "a failure stops after its batch", count: 100, initial: 1, fail: func(n int64) bool { return n == 5 }, wantCalls: 7, wantSuccesses: 6},
		{name: "the last batch is cut to the count", count: 5, initial: 1, fail: never, wantCalls: 5, wantSuccesses: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			got, err := SlowStartBatch(tt.count, tt.initial, func() error {
				if tt.fail(calls.Add(1)) {
					return errQuota
				}
				return nil
			})
			if calls.Load() != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls.Load(), tt.wantCalls)
			}
			if got != tt.wantSuccesses {
				t.Errorf("successes = %d, want %d", got, tt.wantSuccesses)
			}
			if wantErr := tt.wantSuccesses < tt.count; (err != nil) != wantErr || err != nil && !errors.Is(err, errQuota) {
				t.Errorf("error = %v, want failure: %v", err, wantErr)
			}
		})
	}
}

func never(int64) bool  { return false }
func always(int64) bool { return true }
