package serviceaccount

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func TestSync(t *testing.T) {
	now := metav1.Now()
	tests := []struct {
		name       string
		ns         *v1.Namespace
		existing   []*v1.ServiceAccount
		wantCreate bool
	}{
		{name: "creates default", ns: &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}}, wantCreate: true},
		{name: "default exists", ns: &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}},
			existing: []*v1.ServiceAccount{{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "a"}}}},
		{name: "terminating namespace", ns: &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", DeletionTimestamp: &now}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := []runtime.Object{tt.ns}
			for _, sa := range tt.existing {
				objs = append(objs, sa)
			}
			client := fake.NewClientset(objs...)
			f := informers.NewSharedInformerFactory(client, 0)
			c, err := New(f.Core().V1().Namespaces(), f.Core().V1().ServiceAccounts(), client)
			if err != nil {
				t.Fatal(err)
			}
			f.Core().V1().Namespaces().Informer().GetIndexer().Add(tt.ns)
			for _, sa := range tt.existing {
				f.Core().V1().ServiceAccounts().Informer().GetIndexer().Add(sa)
			}
			if err := c.sync(context.Background(), "a"); err != nil {
				t.Fatal(err)
			}
			created := false
			for _, a := range client.Actions() {
				if a.GetVerb() == "create" && a.GetResource().Resource == "serviceaccounts" {
					created = true
				}
			}
			if created != tt.wantCreate {
				t.Errorf("created = %v, want %v", created, tt.wantCreate)
			}
		})
	}
}
