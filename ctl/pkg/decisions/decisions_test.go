package decisions

import (
	"context"
	"errors"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func lease(name, holder, annotation string) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: LeaseNamespace}}
	if holder != "" {
		l.Spec.HolderIdentity = &holder
	}
	if annotation != "" {
		l.Annotations = map[string]string{EndpointAnnotation: annotation}
	}
	return l
}

func TestFind(t *testing.T) {
	leases := []runtime.Object{
		lease("kube-scheduler", "a_1", `{"holderIdentity":"a_1","url":"http://10.0.0.5:10251","schedulerNames":["default-scheduler","batch"]}`),
		lease("gpu-scheduler", "g_2", `{"holderIdentity":"g_1","url":"http://10.0.0.6:10251","schedulerNames":["gpu"]}`),
		lease("broken", "b_1", `not json`),
		lease("kube-controller-manager", "c_1", ""),
	}
	tests := []struct {
		name, scheduler, address string
		want                     string
		wantErr                  error
	}{
		{name: "default scheduler through its lease", scheduler: "default-scheduler", want: "http://10.0.0.5:10251"},
		{name: "second profile of the same scheduler", scheduler: "batch", want: "http://10.0.0.5:10251"},
		{name: "stale annotation of a former leader", scheduler: "gpu", wantErr: ErrNoScheduler},
		{name: "no lease names it", scheduler: "other", wantErr: ErrNoScheduler},
		{name: "address override, host:port", scheduler: "other", address: "127.0.0.1:10251", want: "http://127.0.0.1:10251"},
		{name: "address override, URL with a slash", scheduler: "other", address: "https://sched.example:443/", want: "https://sched.example:443"},
		{name: "bad address", scheduler: "other", address: "ftp://x", wantErr: errAny},
	}
	cs := fake.NewClientset(leases...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Find(context.Background(), cs, tt.scheduler, tt.address)
			switch {
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("Find = %q, %v; want error %v", got, err, tt.wantErr)
			case tt.wantErr == nil && (err != nil || got != tt.want):
				t.Fatalf("Find = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")
