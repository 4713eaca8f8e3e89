// Package server is the kubelet's HTTP API: the authenticated HTTPS port
// (10250) that the apiserver's pods/log, exec, attach, portforward and
// nodes/proxy subresources reach, the read-only port (10255) and the healthz
// handler (10248).
//
// On 10250 clients authenticate with an x509 certificate signed by the client
// CA (--client-ca-file) or, with --authentication-token-webhook, a bearer
// token the apiserver's TokenReview accepts; without either a request is 401
// unless anonymous requests are enabled. With --authorization-mode=Webhook
// each request is authorized by a SubjectAccessReview on the Node
// (subresource proxy, stats, metrics, log, spec or healthz); with
// AlwaysAllow every authenticated client may use every endpoint. Review
// answers are cached as upstream caches them.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"navarch.dev/shared/pki"
	"navarch.dev/shared/statsummary"
)

// Config configures the servers.
type Config struct {
	NodeName string
	// NodeIP and Hostname go into a generated serving certificate.
	NodeIP   string
	Hostname string
	// TLSCertFile and TLSKeyFile are the serving certificate; when empty a
	// self-signed one is generated at start.
	TLSCertFile, TLSKeyFile string
	// ClientCAFile holds the CAs whose client certificates authenticate.
	ClientCAFile string
	// AnonymousAuth lets requests without credentials through.
	AnonymousAuth bool
	// AuthenticationTokenWebhook authenticates bearer tokens with the
	// apiserver's TokenReview; answers are cached for TokenWebhookCacheTTL
	// (default 2m).
	AuthenticationTokenWebhook bool
	TokenWebhookCacheTTL       time.Duration
	// AuthorizationMode is AlwaysAllow (default) or Webhook
	// (SubjectAccessReview), whose allowed and denied answers are cached
	// for AuthorizedTTL (default 5m) and UnauthorizedTTL (default 30s).
	AuthorizationMode string
	AuthorizedTTL     time.Duration
	UnauthorizedTTL   time.Duration
}

// Deps are what the server reads.
type Deps struct {
	// Runtime is the CRI runtime service (containerd).
	Runtime runtimeapi.RuntimeServiceClient
	// Pods returns this node's pods with the statuses the kubelet last
	// computed.
	Pods func() []*v1.Pod
	// Client reaches the apiserver for token and access reviews; it is
	// needed by the token webhook and Webhook authorization.
	Client kubernetes.Interface
	// Stats answers /stats/summary.
	Stats interface {
		Summary(ctx context.Context) (*statsummary.Summary, error)
	}
}

// Server holds the handlers of the kubelet's ports.
type Server struct {
	cfg       Config
	rt        runtimeapi.RuntimeServiceClient
	pods      func() []*v1.Pod
	tls       *tls.Config
	clientCAs *x509.CertPool
	registry  *prometheus.Registry

	tokenReviews  authenticationclient.TokenReviewInterface        // nil: no token webhook
	accessReviews authorizationclient.SubjectAccessReviewInterface // nil: AlwaysAllow
	tokenCache    *ttlCache[tokenResult]
	decisions     *ttlCache[decision]

	stats interface {
		Summary(ctx context.Context) (*statsummary.Summary, error)
	}
}

// New loads or generates the serving certificate and loads the client CAs.
func New(cfg Config, deps Deps) (*Server, error) {
	s := &Server{cfg: cfg, rt: deps.Runtime, pods: deps.Pods, stats: deps.Stats,
		tokenCache: newTTLCache[tokenResult](time.Now), decisions: newTTLCache[decision](time.Now)}
	if s.cfg.TokenWebhookCacheTTL == 0 {
		s.cfg.TokenWebhookCacheTTL = 2 * time.Minute
	}
	if s.cfg.AuthorizedTTL == 0 {
		s.cfg.AuthorizedTTL = 5 * time.Minute
	}
	if s.cfg.UnauthorizedTTL == 0 {
		s.cfg.UnauthorizedTTL = 30 * time.Second
	}
	if cfg.AuthenticationTokenWebhook {
		if deps.Client == nil {
			return nil, errors.New("kubelet server: --authentication-token-webhook needs an apiserver (--kubeconfig)")
		}
		s.tokenReviews = deps.Client.AuthenticationV1().TokenReviews()
	}
	switch cfg.AuthorizationMode {
	case "", AuthorizationAlwaysAllow:
	case AuthorizationWebhook:
		if deps.Client == nil {
			return nil, errors.New("kubelet server: --authorization-mode=Webhook needs an apiserver (--kubeconfig)")
		}
		s.accessReviews = deps.Client.AuthorizationV1().SubjectAccessReviews()
	default:
		return nil, fmt.Errorf("kubelet server: unknown --authorization-mode %q (want AlwaysAllow or Webhook)", cfg.AuthorizationMode)
	}
	cert, err := servingCert(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.ClientCAFile != "" {
		b, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("kubelet server: --client-ca-file: %w", err)
		}
		s.clientCAs = x509.NewCertPool()
		if !s.clientCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("kubelet server: --client-ca-file %s holds no PEM certificates", cfg.ClientCAFile)
		}
	}
	s.tls = &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    s.clientCAs,
		// A missing or wrong certificate is answered with a 401, not a
		// failed handshake.
		ClientAuth: tls.RequestClientCert,
		MinVersion: tls.VersionTLS12,
		// Upgrades (exec, attach, portForward) need HTTP/1.1.
		NextProtos: []string{"http/1.1"},
	}
	s.registry = prometheus.NewRegistry()
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kubelet_running_pods", Help: "Number of pods that have a running pod sandbox",
	}, func() float64 { p, _ := s.counts(); return float64(p) }))
	s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kubelet_running_containers", Help: "Number of running containers",
	}, func() float64 { _, c := s.counts(); return float64(c) }))
	return s, nil
}

func servingCert(cfg Config) (tls.Certificate, error) {
	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" {
			return tls.Certificate{}, errors.New("kubelet server: --tls-cert-file and --tls-private-key-file must be given together")
		}
		c, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("kubelet server: serving certificate: %w", err)
		}
		return c, nil
	}
	ca, err := pki.NewCA(fmt.Sprintf("%s-ca@%d", cfg.NodeName, time.Now().Unix()))
	if err != nil {
		return tls.Certificate{}, err
	}
	names := []string{"localhost"}
	for _, n := range []string{cfg.NodeName, cfg.Hostname} {
		if n != "" {
			names = append(names, n)
		}
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1)}
	if ip := net.ParseIP(cfg.NodeIP); ip != nil {
		ips = append(ips, ip)
	}
	certPEM, keyPEM, err := ca.IssueServing(cfg.NodeName, names, ips)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPEM = append(certPEM, ca.CertPEM...)
	return tls.X509KeyPair(certPEM, keyPEM)
}

// TLSConfig is the serving configuration of the authenticated port.
func (s *Server) TLSConfig() *tls.Config { return s.tls }

// Handler serves the authenticated port's API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.installReadOnly(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", s.serveLogs)
	for _, verb := range []string{"GET", "POST"} {
		mux.HandleFunc(verb+" /exec/{ns}/{pod}/{container}", s.serveExec)
		mux.HandleFunc(verb+" /exec/{ns}/{pod}/{uid}/{container}", s.serveExec)
		mux.HandleFunc(verb+" /attach/{ns}/{pod}/{container}", s.serveAttach)
		mux.HandleFunc(verb+" /attach/{ns}/{pod}/{uid}/{container}", s.serveAttach)
		mux.HandleFunc(verb+" /portForward/{ns}/{pod}", s.servePortForward)
		mux.HandleFunc(verb+" /portForward/{ns}/{pod}/{uid}", s.servePortForward)
	}
	return s.withAuth(mux)
}

// ReadOnlyHandler serves the unauthenticated read-only port: /pods,
// /healthz and /stats/summary.
func (s *Server) ReadOnlyHandler() http.Handler {
	mux := http.NewServeMux()
	s.installReadOnly(mux)
	return mux
}

func (s *Server) installReadOnly(mux *http.ServeMux) {
	mux.Handle("/healthz", s.HealthHandler())
	mux.HandleFunc("GET /pods", s.servePods)
	mux.HandleFunc("GET /stats/summary", s.serveSummary)
}

// HealthHandler answers "ok" while the container runtime answers.
func (s *Server) HealthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if _, err := s.rt.Version(ctx, &runtimeapi.VersionRequest{Version: "v1"}); err != nil {
			http.Error(w, "container runtime down: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	})
}

func (s *Server) serveSummary(w http.ResponseWriter, r *http.Request) {
	if s.stats == nil {
		writeError(w, errorf(http.StatusNotFound, "no stats provider"))
		return
	}
	sum, err := s.stats.Summary(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, sum)
}

func (s *Server) servePods(w http.ResponseWriter, _ *http.Request) {
	list := v1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, Items: []v1.Pod{}}
	for _, p := range s.pods() {
		list.Items = append(list.Items, *p)
	}
	writeJSON(w, list)
}

// counts returns the pods with a ready sandbox and the running containers.
func (s *Server) counts() (pods, containers int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sbs, err := s.rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		State: &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
	}})
	if err == nil {
		pods = len(sbs.Items)
	}
	cs, err := s.rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
	}})
	if err == nil {
		containers = len(cs.Containers)
	}
	return pods, containers
}

// ServeTLS serves h over TLS on ln until ctx ends.
func ServeTLS(ctx context.Context, ln net.Listener, h http.Handler, cfg *tls.Config) error {
	return serve(ctx, tls.NewListener(ln, cfg), h)
}

// Serve serves h in plain HTTP on ln until ctx ends.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	return serve(ctx, ln, h)
}

func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug)}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// httpError is an error with the HTTP status it is answered with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// writeError answers err: its own status for an httpError, else 500.
func writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if errors.As(err, &he) {
		http.Error(w, he.msg, he.code)
		return
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}
