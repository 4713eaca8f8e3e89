package serviceaccount

import (
	"context"
	"crypto"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/apiserver/pkg/authn"
)

// Objects reads the objects tokens name. A missing object is an error for
// which apierrors.IsNotFound holds.
type Objects interface {
	ServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	Node(ctx context.Context, name string) (*corev1.Node, error)
}

// Keys of user.Extra set for bound tokens, as upstream.
const (
	ExtraPodName      = "authentication.kubernetes.io/pod-name"
	ExtraPodUID       = "authentication.kubernetes.io/pod-uid"
	ExtraNodeName     = "authentication.kubernetes.io/node-name"
	ExtraNodeUID      = "authentication.kubernetes.io/node-uid"
	ExtraCredentialID = "authentication.kubernetes.io/credential-id"
)

var algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512}

// leeway is the clock skew allowed on exp and nbf.
const leeway = time.Minute

// Authenticator checks service account tokens.
type Authenticator struct {
	// Issuers are the accepted "iss" values of bound tokens.
	Issuers []string
	// Keys verify signatures.
	Keys []crypto.PublicKey
	// APIAudiences are the audiences a token must have one of to be
	// accepted by the apiserver itself.
	APIAudiences []string
	Objects      Objects
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Authenticate implements authn.Authenticator for bearer tokens meant for
// the apiserver.
func (a *Authenticator) Authenticate(r *http.Request) (*authn.User, bool, error) {
	token, ok := authn.BearerToken(r)
	if !ok {
		return nil, false, nil
	}
	u, _, ok, err := a.AuthenticateToken(r.Context(), token, a.APIAudiences)
	return u, ok, err
}

// AuthenticateToken checks token for one of audiences (the API audiences
// when empty). ok is false when the token is not a service account token of
// this cluster; err says why a token that is one is refused. It returns the
// user and the audiences of the request the token has (all of them for a
// legacy token, which has none).
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string, audiences []string) (*authn.User, []string, bool, error) {
	if len(audiences) == 0 {
		audiences = a.APIAudiences
	}
	tok, err := jwt.ParseSigned(token, algorithms)
	if err != nil {
		return nil, nil, false, nil
	}
	var std jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&std); err != nil {
		return nil, nil, false, nil
	}
	legacy := std.Issuer == LegacyIssuer
	if !legacy && !slices.Contains(a.Issuers, std.Issuer) {
		return nil, nil, false, nil
	}
	var bound boundClaims
	var old legacyClaims
	if err := a.verify(tok, &std, &bound, &old); err != nil {
		return nil, nil, false, err
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	if legacy {
		u, err := a.checkLegacy(ctx, token, &std, &old)
		if err != nil {
			return nil, nil, false, err
		}
		return u, audiences, true, nil
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Time: now}, leeway); err != nil {
		if errors.Is(err, jwt.ErrExpired) {
			return nil, nil, false, errors.New("serviceaccount: token has expired")
		}
		return nil, nil, false, fmt.Errorf("serviceaccount: %w", err)
	}
	if std.Expiry == nil {
		return nil, nil, false, errors.New("serviceaccount: bound token has no expiry")
	}
	var matched []string
	for _, aud := range audiences {
		if std.Audience.Contains(aud) {
			matched = append(matched, aud)
		}
	}
	if len(matched) == 0 {
		return nil, nil, false, errors.New("serviceaccount: token audiences are invalid")
	}
	u, err := a.checkBound(ctx, &std, bound.Kubernetes, now)
	if err != nil {
		return nil, nil, false, err
	}
	return u, matched, true, nil
}

// verify checks the signature with the key the header names, else each key.
func (a *Authenticator) verify(tok *jwt.JSONWebToken, dest ...any) error {
	kid := ""
	if len(tok.Headers) > 0 {
		kid = tok.Headers[0].KeyID
	}
	for _, k := range a.Keys {
		if kid != "" {
			if id, err := keyID(k); err == nil && id != kid {
				continue
			}
		}
		if err := tok.Claims(k, dest...); err == nil {
			return nil
		}
	}
	if kid != "" {
		// A key ID from a key set this server does not hash alike.
		for _, k := range a.Keys {
			if err := tok.Claims(k, dest...); err == nil {
				return nil
			}
		}
	}
	return errors.New("serviceaccount: token signature is invalid")
}

func (a *Authenticator) checkBound(ctx context.Context, std *jwt.Claims, k *kubernetesClaims, now time.Time) (*authn.User, error) {
	if k == nil || k.Namespace == "" || k.ServiceAccount.Name == "" {
		return nil, errors.New("serviceaccount: token lacks the kubernetes.io claims")
	}
	if std.Subject != UserName(k.Namespace, k.ServiceAccount.Name) {
		return nil, errors.New("serviceaccount: token subject does not match its service account")
	}
	sa, err := a.Objects.ServiceAccount(ctx, k.Namespace, k.ServiceAccount.Name)
	if err := gone("service account", k.Namespace+"/"+k.ServiceAccount.Name, k.ServiceAccount.UID, err, sa, now); err != nil {
		return nil, err
	}
	u := &authn.User{Name: std.Subject, UID: string(sa.UID), Groups: Groups(k.Namespace), Extra: map[string][]string{}}
	if std.ID != "" {
		u.Extra[ExtraCredentialID] = []string{"JTI=" + std.ID}
	}
	if k.Secret != nil {
		s, err := a.Objects.Secret(ctx, k.Namespace, k.Secret.Name)
		if err := gone("secret", k.Namespace+"/"+k.Secret.Name, k.Secret.UID, err, s, now); err != nil {
			return nil, err
		}
	}
	if k.Pod != nil {
		p, err := a.Objects.Pod(ctx, k.Namespace, k.Pod.Name)
		if err := gone("pod", k.Namespace+"/"+k.Pod.Name, k.Pod.UID, err, p, now); err != nil {
			return nil, err
		}
		u.Extra[ExtraPodName] = []string{k.Pod.Name}
		u.Extra[ExtraPodUID] = []string{k.Pod.UID}
	}
	if k.Node != nil {
		// A node bound beside a pod is informational; a token bound to the
		// node alone needs the node.
		if k.Pod == nil {
			n, err := a.Objects.Node(ctx, k.Node.Name)
			if err := gone("node", k.Node.Name, k.Node.UID, err, n, now); err != nil {
				return nil, err
			}
		}
		u.Extra[ExtraNodeName] = []string{k.Node.Name}
		u.Extra[ExtraNodeUID] = []string{k.Node.UID}
	}
	return u, nil
}

// gone says why a token's object no longer backs it: it is missing, has
// another UID (deleted and recreated) or has been deleted for longer than
// the leeway.
func gone(kind, name, uid string, err error, m metav1.Object, now time.Time) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("serviceaccount: %s %s referenced by the token no longer exists", kind, name)
	}
	if err != nil {
		return fmt.Errorf("serviceaccount: read %s %s: %w", kind, name, err)
	}
	if uid != "" && string(m.GetUID()) != uid {
		return fmt.Errorf("serviceaccount: %s %s UID (%s) does not match the token's (%s)", kind, name, m.GetUID(), uid)
	}
	if dt := m.GetDeletionTimestamp(); dt != nil && dt.Time.Before(now.Add(-leeway)) {
		return fmt.Errorf("serviceaccount: %s %s has been deleted", kind, name)
	}
	return nil
}

func (a *Authenticator) checkLegacy(ctx context.Context, token string, std *jwt.Claims, c *legacyClaims) (*authn.User, error) {
	if c.Namespace == "" || c.ServiceAccountName == "" || c.SecretName == "" {
		return nil, errors.New("serviceaccount: legacy token lacks its claims")
	}
	if std.Subject != UserName(c.Namespace, c.ServiceAccountName) {
		return nil, errors.New("serviceaccount: token subject does not match its service account")
	}
	s, err := a.Objects.Secret(ctx, c.Namespace, c.SecretName)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("serviceaccount: secret %s/%s of the token no longer exists", c.Namespace, c.SecretName)
		}
		return nil, fmt.Errorf("serviceaccount: read secret: %w", err)
	}
	if s.DeletionTimestamp != nil || subtle.ConstantTimeCompare(s.Data[corev1.ServiceAccountTokenKey], []byte(token)) != 1 {
		return nil, fmt.Errorf("serviceaccount: token does not match secret %s/%s", c.Namespace, c.SecretName)
	}
	sa, err := a.Objects.ServiceAccount(ctx, c.Namespace, c.ServiceAccountName)
	if err := gone("service account", c.Namespace+"/"+c.ServiceAccountName, c.ServiceAccountUID, err, sa, time.Now()); err != nil {
		return nil, err
	}
	return &authn.User{Name: std.Subject, UID: string(sa.UID), Groups: Groups(c.Namespace)}, nil
}
