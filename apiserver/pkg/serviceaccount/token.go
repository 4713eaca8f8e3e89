// Package serviceaccount issues and checks service account tokens: JWTs
// signed with the apiserver's service account key. A token from the
// serviceaccounts/token subresource (TokenRequest) is bound to audiences, an
// expiry and optionally to a Pod, Secret or Node, and stops working when the
// service account or that object is deleted. Legacy tokens kept in
// kubernetes.io/service-account-token Secrets are accepted while their
// Secret exists and holds them.
package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// Token lifetimes of TokenRequest, as upstream.
const (
	MinExpirationSeconds     = 600
	MaxExpirationSeconds     = 1 << 32
	DefaultExpirationSeconds = 3600
	// LegacyIssuer is the issuer of tokens kept in Secrets.
	LegacyIssuer = "kubernetes/serviceaccount"
)

// UserName is the user a service account's tokens authenticate as.
func UserName(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// Groups are the groups of a service account's user.
func Groups(namespace string) []string {
	return []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace}
}

// SplitUserName splits system:serviceaccount:<ns>:<name>; ok is false for
// other user names.
func SplitUserName(user string) (namespace, name string, ok bool) {
	rest, found := strings.CutPrefix(user, "system:serviceaccount:")
	if !found {
		return "", "", false
	}
	namespace, name, found = strings.Cut(rest, ":")
	if !found || namespace == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return namespace, name, true
}

// Ref names an object a token is issued for or bound to.
type Ref struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// kubernetesClaims is the "kubernetes.io" claim of a bound token.
type kubernetesClaims struct {
	Namespace      string           `json:"namespace"`
	ServiceAccount Ref              `json:"serviceaccount"`
	Pod            *Ref             `json:"pod,omitempty"`
	Secret         *Ref             `json:"secret,omitempty"`
	Node           *Ref             `json:"node,omitempty"`
	WarnAfter      *jwt.NumericDate `json:"warnafter,omitempty"`
}

type boundClaims struct {
	Kubernetes *kubernetesClaims `json:"kubernetes.io,omitempty"`
}

// legacyClaims are the claims of a token kept in a Secret.
type legacyClaims struct {
	Namespace          string `json:"kubernetes.io/serviceaccount/namespace"`
	SecretName         string `json:"kubernetes.io/serviceaccount/secret.name"`
	ServiceAccountName string `json:"kubernetes.io/serviceaccount/service-account.name"`
	ServiceAccountUID  string `json:"kubernetes.io/serviceaccount/service-account.uid"`
}

// Claims describe a token to issue.
type Claims struct {
	Namespace      string
	ServiceAccount Ref
	Audiences      []string
	// Expiration is the token's lifetime from now.
	Expiration time.Duration
	// At most one of Pod, Secret; Node may come with Pod (the pod's node).
	Pod, Secret, Node *Ref
}

// Issuer signs tokens.
type Issuer struct {
	// Issuer is the "iss" claim of the tokens.
	Issuer string
	signer jose.Signer
}

// NewIssuer returns an issuer signing with key as iss.
func NewIssuer(iss string, key crypto.Signer) (*Issuer, error) {
	if iss == "" {
		return nil, fmt.Errorf("serviceaccount: an issuer is required")
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
	default:
		return nil, fmt.Errorf("serviceaccount: unsupported signing key type %T", key)
	}
	alg, err := algorithmOf(key.Public())
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: signing key: %w", err)
	}
	kid, err := keyID(key.Public())
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: signing key: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(alg)}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: signer: %w", err)
	}
	return &Issuer{Issuer: iss, signer: signer}, nil
}

// Issue signs a token for c, issued at now. It returns the token and its expiry.
func (i *Issuer) Issue(c Claims, now time.Time) (string, time.Time, error) {
	now = now.Truncate(time.Second)
	exp := now.Add(c.Expiration)
	std := jwt.Claims{
		Issuer:    i.Issuer,
		Subject:   UserName(c.Namespace, c.ServiceAccount.Name),
		Audience:  jwt.Audience(c.Audiences),
		Expiry:    jwt.NewNumericDate(exp),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        string(uuid.NewUUID()),
	}
	priv := boundClaims{Kubernetes: &kubernetesClaims{
		Namespace: c.Namespace, ServiceAccount: c.ServiceAccount, Pod: c.Pod, Secret: c.Secret, Node: c.Node,
	}}
	tok, err := jwt.Signed(i.signer).Claims(std).Claims(priv).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("serviceaccount: sign token: %w", err)
	}
	return tok, exp, nil
}

// IssueLegacy signs a token of the kind kept in a Secret (no audience, no
// expiry), for the token controller and for tests.
func (i *Issuer) IssueLegacy(namespace string, sa Ref, secretName string) (string, error) {
	std := jwt.Claims{Issuer: LegacyIssuer, Subject: UserName(namespace, sa.Name)}
	priv := legacyClaims{Namespace: namespace, SecretName: secretName, ServiceAccountName: sa.Name, ServiceAccountUID: sa.UID}
	tok, err := jwt.Signed(i.signer).Claims(std).Claims(priv).Serialize()
	if err != nil {
		return "", fmt.Errorf("serviceaccount: sign token: %w", err)
	}
	return tok, nil
}
