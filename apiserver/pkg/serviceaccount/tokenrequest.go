package serviceaccount

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// RequestDefaults are the server's settings for TokenRequests.
type RequestDefaults struct {
	// Audiences are given to a token when the request names none.
	Audiences []string
	// MaxExpiration caps a token's lifetime (0: no cap beyond the API's).
	MaxExpiration time.Duration
}

// TokenRequest validates req (POST serviceaccounts/<name>/token), checks its
// bound object, and returns the answer with a token for sa. Errors are API
// errors: 422 for a bad spec, 400 for an unsupported bound object kind or a
// pod of another service account, 404 for a missing bound object and 409
// for one whose UID changed.
func (i *Issuer) TokenRequest(ctx context.Context, objs Objects, sa *corev1.ServiceAccount, req *authenticationv1.TokenRequest, d RequestDefaults, now time.Time) (*authenticationv1.TokenRequest, error) {
	if req.Name != "" && req.Name != sa.Name {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", req.Name, sa.Name))
	}
	out := req.DeepCopy()
	if out.Spec.ExpirationSeconds == nil {
		e := int64(DefaultExpirationSeconds)
		out.Spec.ExpirationSeconds = &e
	}
	if len(out.Spec.Audiences) == 0 {
		out.Spec.Audiences = append([]string(nil), d.Audiences...)
	}
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if e := *out.Spec.ExpirationSeconds; e < MinExpirationSeconds {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), e, "may not specify a duration less than 10 minutes"))
	} else if e > MaxExpirationSeconds {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), e, "may not specify a duration larger than 2^32 seconds"))
	}
	for n, aud := range out.Spec.Audiences {
		if aud == "" {
			errs = append(errs, field.Invalid(spec.Child("audiences").Index(n), aud, "may not be empty"))
		}
	}
	if ref := out.Spec.BoundObjectRef; ref != nil && ref.Name == "" {
		errs = append(errs, field.Required(spec.Child("boundObjectRef", "name"), ""))
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(schema.GroupKind{Group: "authentication.k8s.io", Kind: "TokenRequest"}, sa.Name, errs)
	}
	c := Claims{
		Namespace:      sa.Namespace,
		ServiceAccount: Ref{Name: sa.Name, UID: string(sa.UID)},
		Audiences:      out.Spec.Audiences,
		Expiration:     time.Duration(*out.Spec.ExpirationSeconds) * time.Second,
	}
	if d.MaxExpiration > 0 && c.Expiration > d.MaxExpiration {
		c.Expiration = d.MaxExpiration
		e := int64(d.MaxExpiration / time.Second)
		out.Spec.ExpirationSeconds = &e
	}
	if ref := out.Spec.BoundObjectRef; ref != nil {
		if err := bind(ctx, objs, sa, ref, &c); err != nil {
			return nil, err
		}
	}
	tok, exp, err := i.Issue(c, now)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out.TypeMeta = metav1.TypeMeta{Kind: "TokenRequest", APIVersion: "authentication.k8s.io/v1"}
	out.Name, out.Namespace = sa.Name, sa.Namespace
	out.CreationTimestamp = metav1.NewTime(now.Truncate(time.Second))
	out.Status = authenticationv1.TokenRequestStatus{Token: tok, ExpirationTimestamp: metav1.NewTime(exp)}
	return out, nil
}

// bind looks up the bound object and records it in c.
func bind(ctx context.Context, objs Objects, sa *corev1.ServiceAccount, ref *authenticationv1.BoundObjectReference, c *Claims) error {
	gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
	var m metav1.Object
	switch {
	case gvk.Group == "" && gvk.Version == "v1" && gvk.Kind == "Pod":
		pod, err := objs.Pod(ctx, sa.Namespace, ref.Name)
		if err != nil {
			return err
		}
		if pod.Spec.ServiceAccountName != sa.Name {
			return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", sa.Name))
		}
		m = pod
		c.Pod = &Ref{Name: pod.Name, UID: string(pod.UID)}
		if pod.Spec.NodeName != "" {
			if node, err := objs.Node(ctx, pod.Spec.NodeName); err == nil {
				c.Node = &Ref{Name: node.Name, UID: string(node.UID)}
			} else if !apierrors.IsNotFound(err) {
				return err
			}
		}
	case gvk.Group == "" && gvk.Version == "v1" && gvk.Kind == "Secret":
		s, err := objs.Secret(ctx, sa.Namespace, ref.Name)
		if err != nil {
			return err
		}
		m = s
		c.Secret = &Ref{Name: s.Name, UID: string(s.UID)}
	case gvk.Group == "" && gvk.Version == "v1" && gvk.Kind == "Node":
		n, err := objs.Node(ctx, ref.Name)
		if err != nil {
			return err
		}
		m = n
		c.Node = &Ref{Name: n.Name, UID: string(n.UID)}
	default:
		return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", gvk.String()))
	}
	if ref.UID != "" && ref.UID != m.GetUID() {
		return apierrors.NewConflict(schema.GroupResource{Group: "authentication.k8s.io", Resource: "tokenrequests"}, sa.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	return nil
}
