package server

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"navarch.dev/apiserver/pkg/admission/namespacelifecycle"
	"navarch.dev/apiserver/pkg/admission/priority"
	"navarch.dev/apiserver/pkg/admission/serviceaccount"
	"navarch.dev/apiserver/pkg/registry"
)

// AdmissionPlugins are the admission plugins, in the order they run (the
// order of upstream's chain, whatever the order of the flags). All are on
// by default; --disable-admission-plugins turns one off.
var AdmissionPlugins = []string{"NamespaceLifecycle", serviceaccount.Name, "Priority"}

// newAdmissionPlugin builds the named plugin over this server's stores.
func (s *Server) newAdmissionPlugin(name string) registry.Admission {
	switch name {
	case "NamespaceLifecycle":
		return &namespacelifecycle.Plugin{Namespaces: namespaceLookup{s}}
	case serviceaccount.Name:
		return &serviceaccount.Plugin{Accounts: serviceAccountLookup{s}}
	case "Priority":
		return &priority.Plugin{Classes: priorityClassLookup{s}}
	}
	panic("unknown admission plugin " + name)
}

// admission is the chain of the enabled plugins. Each plugin picks the
// resources and operations it acts on.
func (s *Server) admission() registry.Admission {
	var chain admissionChain
	for _, name := range s.opts.enabledAdmissionPlugins() {
		chain = append(chain, s.newAdmissionPlugin(name))
	}
	return chain
}

// checkAdmissionPlugins rejects unknown plugin names and a plugin named in
// both lists.
func (o *Options) checkAdmissionPlugins() error {
	for _, l := range []struct {
		flag  string
		names []string
	}{{"--enable-admission-plugins", o.EnableAdmissionPlugins}, {"--disable-admission-plugins", o.DisableAdmissionPlugins}} {
		for _, n := range l.names {
			if !slices.Contains(AdmissionPlugins, n) {
				return fmt.Errorf("%s: plugin %q is unknown (known: %s)", l.flag, n, strings.Join(AdmissionPlugins, ", "))
			}
		}
	}
	for _, n := range o.EnableAdmissionPlugins {
		if slices.Contains(o.DisableAdmissionPlugins, n) {
			return fmt.Errorf("%q is in both --enable-admission-plugins and --disable-admission-plugins", n)
		}
	}
	return nil
}

// enabledAdmissionPlugins are the plugins that run, in chain order.
func (o *Options) enabledAdmissionPlugins() []string {
	var out []string
	for _, n := range AdmissionPlugins {
		if !slices.Contains(o.DisableAdmissionPlugins, n) {
			out = append(out, n)
		}
	}
	return out
}

// serviceAccountLookup finds service accounts for the ServiceAccount
// admission plugin: the watch cache first, etcd for an account created a
// moment ago (through another apiserver, say).
type serviceAccountLookup struct{ s *Server }

func (l serviceAccountLookup) ServiceAccount(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	st := l.s.storeOf("", "v1", "serviceaccounts")
	o, _, err := st.Cache().Get(ctx, st.Key(ns, name), st.LastWriteRevision())
	if err != nil {
		return nil, err
	}
	if o != nil {
		return o.Obj.(*corev1.ServiceAccount), nil
	}
	obj, err := st.Get(ctx, ns, name, "")
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.ServiceAccount), nil
}
