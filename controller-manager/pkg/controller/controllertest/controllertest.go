// Package controllertest holds fixtures shared by controller unit tests.
package controllertest

import (
	"fmt"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// GenerateNames makes the fake clientset honour metadata.generateName and
// give created objects a UID, as the apiserver does.
func GenerateNames(client *fake.Clientset) {
	var n atomic.Int64
	client.PrependReactor("create", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		obj := a.(clienttesting.CreateAction).GetObject()
		m, err := metaOf(obj)
		if err != nil {
			return false, nil, nil
		}
		i := n.Add(1)
		if m.GetName() == "" && m.GetGenerateName() != "" {
			m.SetName(fmt.Sprintf("%s%05d", m.GetGenerateName(), i))
		}
		if m.GetUID() == "" {
			m.SetUID(types.UID(fmt.Sprintf("uid-%d", i)))
		}
		return false, nil, nil
	})
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("not an object")
	}
	return o, nil
}

// Count counts the actions with verb on resource (and subresource, when
// given).
func Count(actions []clienttesting.Action, verb, resource string, subresource ...string) int {
	n := 0
	for _, a := range actions {
		if a.GetVerb() != verb || a.GetResource().Resource != resource {
			continue
		}
		if len(subresource) > 0 && a.GetSubresource() != subresource[0] {
			continue
		}
		n++
	}
	return n
}
