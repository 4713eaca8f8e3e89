// Package namespacelifecycle is the admission plugin that keeps objects out of
// namespaces that do not exist or are being deleted, and keeps the system
// namespaces from being deleted.
package namespacelifecycle

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"navarch.dev/apiserver/pkg/registry"
)

// Namespaces looks namespaces up (the namespaces store's watch cache).
type Namespaces interface {
	// Namespace returns the namespace, or nil when it does not exist.
	Namespace(ctx context.Context, name string) (*corev1.Namespace, error)
}

// Plugin is the NamespaceLifecycle admission plugin.
type Plugin struct {
	Namespaces Namespaces
}

var _ registry.Admission = (*Plugin)(nil)

// immortal namespaces may not be deleted.
var immortal = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

var namespacesGR = schema.GroupResource{Resource: "namespaces"}

// Admit rejects creates in missing (404) or terminating (403) namespaces and
// deletes of the system namespaces (403).
func (p *Plugin) Admit(ctx context.Context, a *registry.AdmissionAttributes) error {
	res := a.Resource
	if res.GroupVersion.Group == "" && res.Plural == "namespaces" {
		if a.Operation == "DELETE" && immortal[a.Name] {
			return apierrors.NewForbidden(namespacesGR, a.Name, fmt.Errorf("this namespace may not be deleted"))
		}
		return nil
	}
	if !res.Namespaced || a.Operation != "CREATE" {
		return nil
	}
	ns, err := p.Namespaces.Namespace(ctx, a.Namespace)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if ns == nil {
		return apierrors.NewNotFound(namespacesGR, a.Namespace)
	}
	if ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil {
		gr := res.GroupVersionResource().GroupResource()
		return apierrors.NewForbidden(gr, a.Name, fmt.Errorf("unable to create new content in namespace %s because it is being terminated", a.Namespace))
	}
	return nil
}
