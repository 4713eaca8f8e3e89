package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Authorization modes of the API port (--authorization-mode).
const (
	AuthorizationAlwaysAllow = "AlwaysAllow"
	AuthorizationWebhook     = "Webhook"
)

// userInfo is who a request comes from.
type userInfo struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string]authenticationv1.ExtraValue
}

// errUnauthorized is a request whose credentials were refused.
var errUnauthorized = errors.New("kubelet server: unauthorized")

// ttlCache is a small map whose entries expire.
type ttlCache[V any] struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func newTTLCache[V any](now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{now: now, entries: map[string]ttlEntry[V]{}}
}

func (c *ttlCache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !c.now().Before(e.expires) {
		delete(c.entries, k)
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(k string, v V, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) > 4096 {
		now := c.now()
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
	}
	c.entries[k] = ttlEntry[V]{v: v, expires: c.now().Add(ttl)}
}

// tokenResult is a cached TokenReview answer.
type tokenResult struct {
	user *userInfo // nil: the token was refused
}

// authenticate returns the request's user: from a client certificate
// signed by the client CA, else from a bearer token the apiserver's
// TokenReview accepts (--authentication-token-webhook), else anonymous when
// allowed. Credentials that are presented and refused are an error, never
// anonymous.
func (s *Server) authenticate(r *http.Request) (*userInfo, error) {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		if s.clientCAs == nil {
			return nil, fmt.Errorf("%w: client certificates are not accepted without --client-ca-file", errUnauthorized)
		}
		certs := r.TLS.PeerCertificates
		opts := x509.VerifyOptions{
			Roots: s.clientCAs, Intermediates: x509.NewCertPool(),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
		if _, err := certs[0].Verify(opts); err != nil {
			return nil, fmt.Errorf("%w: %v", errUnauthorized, err)
		}
		groups := append(append([]string{}, certs[0].Subject.Organization...), "system:authenticated")
		return &userInfo{Name: certs[0].Subject.CommonName, Groups: groups}, nil
	}
	if token, ok := bearerToken(r); ok && s.tokenReviews != nil {
		return s.reviewToken(r.Context(), token)
	}
	if s.cfg.AnonymousAuth {
		return &userInfo{Name: "system:anonymous", Groups: []string{"system:unauthenticated"}}, nil
	}
	return nil, fmt.Errorf("%w: no client certificate or bearer token", errUnauthorized)
}

func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// reviewToken asks the apiserver who token belongs to; answers, accepted or
// refused, are cached for --authentication-token-webhook-cache-ttl.
func (s *Server) reviewToken(ctx context.Context, token string) (*userInfo, error) {
	if res, ok := s.tokenCache.get(token); ok {
		if res.user == nil {
			return nil, fmt.Errorf("%w: token refused", errUnauthorized)
		}
		return res.user, nil
	}
	tr, err := s.tokenReviews.Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		// A failed review is not cached: the next request asks again.
		return nil, fmt.Errorf("%w: token review: %v", errUnauthorized, err)
	}
	var res tokenResult
	if tr.Status.Authenticated {
		u := tr.Status.User
		res.user = &userInfo{Name: u.Username, UID: u.UID, Groups: u.Groups, Extra: u.Extra}
	}
	s.tokenCache.put(token, res, s.cfg.TokenWebhookCacheTTL)
	if res.user == nil {
		return nil, fmt.Errorf("%w: token refused: %s", errUnauthorized, tr.Status.Error)
	}
	return res.user, nil
}

// attributes are what a request asks to do, as a SubjectAccessReview on
// the Node names it.
type attributes struct {
	verb, subresource string
}

// requestAttributes maps a request to upstream's kubelet authorization
// attributes: the verb from the HTTP method, the subresource of nodes from
// the path (stats, metrics, log, spec, healthz; everything else is proxy).
func requestAttributes(r *http.Request) attributes {
	verb := "get"
	switch r.Method {
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
	}
	sub := "proxy"
	for prefix, s := range map[string]string{"/stats": "stats", "/metrics": "metrics", "/logs": "log", "/spec": "spec", "/healthz": "healthz"} {
		if r.URL.Path == prefix || strings.HasPrefix(r.URL.Path, prefix+"/") {
			sub = s
		}
	}
	return attributes{verb: verb, subresource: sub}
}

// decision is a cached SubjectAccessReview answer.
type decision struct {
	allowed bool
	reason  string
}

// authorize reports whether user may do a on this Node: always with
// AlwaysAllow, else as the apiserver's SubjectAccessReview answers (allowed
// answers cached for --authorization-webhook-cache-authorized-ttl, denied
// ones for --authorization-webhook-cache-unauthorized-ttl).
func (s *Server) authorize(ctx context.Context, u *userInfo, a attributes) (decision, error) {
	if s.accessReviews == nil {
		return decision{allowed: true}, nil
	}
	groups := append([]string{}, u.Groups...)
	sort.Strings(groups)
	k := strings.Join([]string{u.Name, u.UID, strings.Join(groups, ","), fmt.Sprint(u.Extra), a.verb, a.subresource}, "\x00")
	if d, ok := s.decisions.get(k); ok {
		return d, nil
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Name, UID: u.UID, Groups: u.Groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: a.verb, Group: "", Version: "v1", Resource: "nodes", Subresource: a.subresource, Name: s.cfg.NodeName,
		},
	}}
	if len(u.Extra) > 0 {
		sar.Spec.Extra = map[string]authorizationv1.ExtraValue{}
		for k, v := range u.Extra {
			sar.Spec.Extra[k] = authorizationv1.ExtraValue(v)
		}
	}
	resp, err := s.accessReviews.Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return decision{}, fmt.Errorf("subject access review: %w", err)
	}
	d := decision{allowed: resp.Status.Allowed && !resp.Status.Denied, reason: resp.Status.Reason}
	ttl := s.cfg.AuthorizedTTL
	if !d.allowed {
		ttl = s.cfg.UnauthorizedTTL
	}
	s.decisions.put(k, d, ttl)
	return d, nil
}

// withAuth authenticates and authorizes every request: 401 for refused or
// missing credentials, 403 for what the user may not do.
func (s *Server) withAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.authenticate(r)
		if err != nil {
			slog.Debug("kubelet server: unauthorized", "remote", r.RemoteAddr, "err", err)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		a := requestAttributes(r)
		d, err := s.authorize(r.Context(), u, a)
		if err != nil {
			slog.Warn("kubelet server: authorization", "user", u.Name, "err", err)
			http.Error(w, fmt.Sprintf("Authorization error (user=%s, verb=%s, resource=nodes, subresource=%s)", u.Name, a.verb, a.subresource), http.StatusInternalServerError)
			return
		}
		if !d.allowed {
			slog.Debug("kubelet server: forbidden", "user", u.Name, "verb", a.verb, "subresource", a.subresource, "reason", d.reason)
			http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource=%s)", u.Name, a.verb, a.subresource), http.StatusForbidden)
			return
		}
		slog.Debug("kubelet server request", "user", u.Name, "method", r.Method, "path", r.URL.Path)
		next.ServeHTTP(w, r)
	})
}
