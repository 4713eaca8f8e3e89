package server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"navarch.dev/apiserver/pkg/authn"
	"navarch.dev/apiserver/pkg/authz"
	"navarch.dev/apiserver/pkg/endpoints"
	"navarch.dev/apiserver/pkg/review"
)

// Version is what /version reports; the build may override GitVersion.
var Version = version.Info{
	Major:      "1",
	Minor:      "34",
	GitVersion: "v1.34.0-navarch",
	Platform:   "linux/amd64",
}

// buildHandler routes requests and wraps them in the filter chain:
// panic recovery → authentication → (authorization inside the API) → handlers.
func (s *Server) buildHandler() http.Handler {
	r := mux.NewRouter()
	r.UseEncodedPath()
	r.HandleFunc("/version", func(w http.ResponseWriter, _ *http.Request) { endpoints.WriteJSON(w, http.StatusOK, Version) })
	r.Handle("/metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
	health := s.healthChecks()
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		path := p
		r.HandleFunc(path, func(w http.ResponseWriter, req *http.Request) { serveHealth(w, req, health) })
		r.HandleFunc(path+"/{check}", func(w http.ResponseWriter, req *http.Request) {
			serveOneCheck(w, req, health, mux.Vars(req)["check"])
		})
	}
	if s.openapi != nil {
		r.PathPrefix("/openapi/").Handler(s.openapi)
	}
	r.PathPrefix("/api").HandlerFunc(s.serveAPI)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		endpoints.WriteError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
	})
	return s.withRecovery(s.withAuthentication(r))
}

// serveAPI splits discovery paths from resource paths.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case parts[0] == "api" && len(parts) <= 2, parts[0] == "apis" && len(parts) <= 3:
		s.api.ServeDiscovery(w, r)
	case parts[0] == "api" || parts[0] == "apis":
		s.api.ServeHTTP(w, r)
	default:
		endpoints.WriteError(w, apierrors.NewNotFound(schema.GroupResource{}, ""))
	}
}

func (s *Server) withRecovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				slog.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				endpoints.WriteError(w, apierrors.NewInternalError(fmt.Errorf("%v", p)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authenticator() (authn.Authenticator, error) {
	chain := authn.Union{authn.NewX509(s.clientCAs)}
	if s.opts.TokenAuthFile != "" {
		t, err := authn.LoadTokenFile(s.opts.TokenAuthFile)
		if err != nil {
			return nil, err
		}
		chain = append(chain, t)
	}
	return append(chain, s.saAuthenticator), nil
}

// tokenAuthenticators are the bearer token authenticators, for TokenReview.
func (s *Server) tokenAuthenticators() review.Tokens {
	tokens := review.Tokens{s.saAuthenticator}
	if s.opts.TokenAuthFile != "" {
		if t, err := authn.LoadTokenFile(s.opts.TokenAuthFile); err == nil {
			tokens = append(review.Tokens{review.StaticTokens{Tokens: t}}, tokens...)
		}
	}
	return tokens
}

// withAuthentication rejects requests without valid credentials with 401
// (unless anonymous requests are enabled, or the request is for a health
// endpoint) and records the user.
func (s *Server) withAuthentication(next http.Handler) http.Handler {
	a, err := s.authenticator()
	if err != nil {
		slog.Error("authentication setup", "err", err)
		a = authn.Union{authn.NewX509(s.clientCAs)}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok, err := a.Authenticate(r)
		if !ok {
			// Health endpoints answer requests without credentials, as
			// upstream's system:public-info-viewer lets them: kubelet
			// probes and load balancers carry none.
			if err == nil && (s.opts.Anonymous || publicHealthPath(r.URL.Path)) {
				u = &authn.User{Name: authn.UserAnonymous, Groups: []string{authn.GroupUnauthenticated}}
			} else {
				if err != nil {
					slog.Debug("authentication failed", "err", err)
				}
				endpoints.WriteError(w, apierrors.NewUnauthorized("Unauthorized"))
				return
			}
		}
		r.Header.Del("Authorization")
		next.ServeHTTP(w, r.WithContext(authn.WithUser(r.Context(), u)))
	})
}

// publicHealthPath reports whether path is /healthz, /livez or /readyz, or
// one of their single checks.
func publicHealthPath(path string) bool {
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		if path == p || (strings.HasPrefix(path, p+"/") && !strings.Contains(path[len(p)+1:], "/")) {
			return true
		}
	}
	return false
}

// authorize asks the authorizer about a resource request.
func authorize(z authz.Authorizer, r *http.Request, ri *endpoints.RequestInfo) error {
	u, _ := authn.UserFrom(r.Context())
	d, reason, err := z.Authorize(r.Context(), authz.Attributes{
		User: u, Verb: ri.Verb, Group: ri.GroupVersion.Group, Version: ri.GroupVersion.Version,
		Resource: ri.Resource, Subresource: ri.Subresource, Namespace: ri.Namespace, Name: ri.Name,
	})
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	if d != authz.Allow {
		name := "<anonymous>"
		if u != nil {
			name = u.Name
		}
		msg := fmt.Sprintf("User %q cannot %s resource %q in API group %q", name, ri.Verb, ri.Resource, ri.GroupVersion.Group)
		if ri.Namespace != "" {
			msg += fmt.Sprintf(" in the namespace %q", ri.Namespace)
		}
		if reason != "" {
			msg += ": " + reason
		}
		return apierrors.NewForbidden(schema.GroupResource{Group: ri.GroupVersion.Group, Resource: ri.Resource}, ri.Name, errors.New(msg))
	}
	return nil
}

type healthCheck struct {
	name  string
	check func(ctx context.Context) error
}

func (s *Server) healthChecks() []healthCheck {
	return []healthCheck{
		{"ping", func(context.Context) error { return nil }},
		{"etcd", func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := s.cli.Get(ctx, "health")
			return err
		}},
		{"informer-sync", func(context.Context) error {
			for gvr, st := range s.stores {
				if !st.Cache().Ready() {
					return fmt.Errorf("watch cache of %s not ready", gvr.Resource)
				}
			}
			return nil
		}},
	}
}

// serveHealth answers "ok" when every check passes; ?verbose lists them as
// upstream does ([+]etcd ok).
func serveHealth(w http.ResponseWriter, r *http.Request, checks []healthCheck) {
	var b strings.Builder
	failed := false
	for _, c := range checks {
		if err := c.check(r.Context()); err != nil {
			failed = true
			fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c.name)
			slog.Warn("health check failed", "check", c.name, "err", err)
		} else {
			fmt.Fprintf(&b, "[+]%s ok\n", c.name)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if failed {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%shealthz check failed\n", b.String())
		return
	}
	if _, ok := r.URL.Query()["verbose"]; ok {
		fmt.Fprintf(w, "%shealthz check passed\n", b.String())
		return
	}
	fmt.Fprint(w, "ok")
}

func serveOneCheck(w http.ResponseWriter, r *http.Request, checks []healthCheck, name string) {
	for _, c := range checks {
		if c.name == name {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			if err := c.check(r.Context()); err != nil {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintf(w, "internal server error: %s check failed\n", name)
				return
			}
			fmt.Fprint(w, "ok")
			return
		}
	}
	http.NotFound(w, r)
}

func slogErrorLog() *log.Logger {
	return slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug)
}
