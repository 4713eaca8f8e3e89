package server

import (
	"context"
	"crypto"
	"fmt"
	"net/http"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"navarch.dev/apiserver/pkg/endpoints"
	"navarch.dev/apiserver/pkg/serviceaccount"
)

// setupServiceAccounts loads (or, by default, generates in the cert dir)
// the service account signing key and builds the token issuer and the
// token authenticator.
func (s *Server) setupServiceAccounts() error {
	o := s.opts
	keyFile := o.ServiceAccountSigningKeyFile
	if keyFile == "" {
		var err error
		if keyFile, err = serviceaccount.EnsureKeyPair(o.CertDir); err != nil {
			return err
		}
	}
	key, err := serviceaccount.LoadSigningKey(keyFile)
	if err != nil {
		return fmt.Errorf("--service-account-signing-key-file: %w", err)
	}
	issuer, err := serviceaccount.NewIssuer(o.ServiceAccountIssuers[0], key)
	if err != nil {
		return err
	}
	keys := []crypto.PublicKey{key.Public()}
	if len(o.ServiceAccountKeyFiles) > 0 {
		keys = nil
		for _, f := range o.ServiceAccountKeyFiles {
			k, err := serviceaccount.LoadPublicKeys(f)
			if err != nil {
				return fmt.Errorf("--service-account-key-file: %w", err)
			}
			keys = append(keys, k...)
		}
	}
	s.saIssuer = issuer
	s.saAuthenticator = &serviceaccount.Authenticator{
		Issuers:      o.ServiceAccountIssuers,
		Keys:         keys,
		APIAudiences: o.APIAudiences,
		Objects:      objectLookup{s},
	}
	return nil
}

// serveTokenRequest issues a token for a service account (POST
// serviceaccounts/<name>/token).
func (s *Server) serveTokenRequest(w http.ResponseWriter, r *http.Request, ri *endpoints.RequestInfo, ep *endpoints.Endpoint) {
	if ri.Verb != "create" {
		endpoints.WriteError(w, apierrors.NewMethodNotSupported(schema.GroupResource{Resource: "serviceaccounts/token"}, ri.Verb))
		return
	}
	var req authenticationv1.TokenRequest
	if err := endpoints.DecodeBody(r, &req); err != nil {
		endpoints.WriteError(w, err)
		return
	}
	if k := req.Kind; k != "" && k != "TokenRequest" {
		endpoints.WriteError(w, apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (TokenRequest)", k)))
		return
	}
	obj, err := ep.Store.Get(r.Context(), ri.Namespace, ri.Name, "")
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	out, err := s.saIssuer.TokenRequest(r.Context(), objectLookup{s}, obj.(*corev1.ServiceAccount), &req, serviceaccount.RequestDefaults{
		Audiences: s.opts.APIAudiences, MaxExpiration: s.opts.ServiceAccountMaxTokenExpiration,
	}, time.Now())
	if err != nil {
		endpoints.WriteError(w, err)
		return
	}
	endpoints.WriteJSON(w, http.StatusCreated, out)
}

// objectLookup reads the objects tokens name: the watch cache at this
// server's last write, else etcd (an object created a moment ago).
type objectLookup struct{ s *Server }

func (l objectLookup) get(ctx context.Context, resource, ns, name string) (runtime.Object, error) {
	st := l.s.storeOf("", "v1", resource)
	o, _, err := st.Cache().Get(ctx, st.Key(ns, name), st.LastWriteRevision())
	if err == nil && o != nil {
		return o.Obj, nil
	}
	return st.Get(ctx, ns, name, "")
}

func (l objectLookup) ServiceAccount(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	o, err := l.get(ctx, "serviceaccounts", ns, name)
	if err != nil {
		return nil, err
	}
	return o.(*corev1.ServiceAccount), nil
}

func (l objectLookup) Pod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	o, err := l.get(ctx, "pods", ns, name)
	if err != nil {
		return nil, err
	}
	return o.(*corev1.Pod), nil
}

func (l objectLookup) Secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	o, err := l.get(ctx, "secrets", ns, name)
	if err != nil {
		return nil, err
	}
	return o.(*corev1.Secret), nil
}

func (l objectLookup) Node(ctx context.Context, name string) (*corev1.Node, error) {
	o, err := l.get(ctx, "nodes", "", name)
	if err != nil {
		return nil, err
	}
	return o.(*corev1.Node), nil
}
