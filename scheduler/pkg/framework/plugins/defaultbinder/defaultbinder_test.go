package defaultbinder

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"navarch.dev/scheduler/pkg/framework"
)

type handle struct {
	framework.Handle
	client kubernetes.Interface
}

func (h handle) ClientSet() kubernetes.Interface { return h.client }

func TestBind(t *testing.T) {
	tests := []struct {
		name    string
		failErr bool
		want    framework.Code
	}{
		{name: "binds", want: framework.Success},
		{name: "api error is an Error status", failErr: true, want: framework.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			var got *v1.Binding
			client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
				if a.GetSubresource() != "binding" {
					return false, nil, nil
				}
				if tt.failErr {
					return true, nil, context.DeadlineExceeded
				}
				got = a.(clienttesting.CreateAction).GetObject().(*v1.Binding)
				return true, got, nil
			})
			var p framework.BindPlugin = &DefaultBinder{handle: handle{client: client}}
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u1"}}
			st := p.Bind(context.Background(), nil, pod, "node-1")
			if st.Code() != tt.want {
				t.Fatalf("Bind = %v, want %v", st, tt.want)
			}
			if tt.want == framework.Success && (got == nil || got.Target.Name != "node-1" || got.Name != "p" || got.UID != "u1") {
				t.Errorf("binding = %+v", got)
			}
		})
	}
}
