// Package server assembles navarch-apiserver: PKI, etcd (embedded or external),
// one store per resource with its watch cache, admission, authentication, the
// REST endpoints and the health, metrics, version and OpenAPI handlers.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"navarch.dev/apiserver/pkg/authn"
	"navarch.dev/apiserver/pkg/authz"
	"navarch.dev/apiserver/pkg/endpoints"
	"navarch.dev/apiserver/pkg/ipalloc"
	"navarch.dev/apiserver/pkg/metrics"
	"navarch.dev/apiserver/pkg/openapi"
	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/resourcemetrics"
	"navarch.dev/apiserver/pkg/review"
	"navarch.dev/apiserver/pkg/serviceaccount"
	"navarch.dev/apiserver/pkg/servicealloc"
	"navarch.dev/apiserver/pkg/storage/embedded"
	"navarch.dev/apiserver/pkg/storage/etcd"
	"navarch.dev/apiserver/pkg/storage/watchcache"
	"navarch.dev/shared/kubeconfig"
	"navarch.dev/shared/pki"
)

// Server is a prepared apiserver: storage connected, caches filling.
type Server struct {
	opts    *Options
	etcd    *embedded.Etcd
	cli     *clientv3.Client
	store   *etcd.Store
	metrics *metrics.Metrics
	api     *endpoints.API
	stores  map[schema.GroupVersionResource]*registry.Store
	tls     *tls.Config
	// clientCAs verifies client certificates.
	clientCAs *x509.CertPool
	handler   http.Handler
	openapi   http.Handler
	ca        *pki.CA

	// kubeletTLSConfig is the client side of connections to kubelets.
	kubeletTLSConfig *tls.Config
	kubeletOnce      sync.Once
	kubeletHTTP      *http.Client

	// saIssuer signs service account tokens; saAuthenticator checks them.
	saIssuer        *serviceaccount.Issuer
	saAuthenticator *serviceaccount.Authenticator
	// authorizer decides on requests and on access reviews.
	authorizer authz.Authorizer

	// repairServices makes the service ranges match the stored Services.
	repairServices func(ctx context.Context) error

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New prepares a server: it starts or connects to etcd, loads or creates the
// PKI, builds the stores and waits for their caches to fill.
func New(ctx context.Context, o *Options) (*Server, error) {
	if err := o.Complete(); err != nil {
		return nil, err
	}
	watchcache.SetWatchContext(etcd.WatchContext)
	s := &Server{opts: o, metrics: metrics.New(), stores: map[schema.GroupVersionResource]*registry.Store{}}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if err := s.setupTLS(); err != nil {
		return nil, err
	}
	kt, err := s.kubeletTLS()
	if err != nil {
		return nil, err
	}
	s.kubeletTLSConfig = kt
	if err := s.setupServiceAccounts(); err != nil {
		return nil, err
	}
	if err := s.connectEtcd(); err != nil {
		return nil, err
	}
	s.store = etcd.New(s.cli, nil)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	if err := s.buildAPI(runCtx); err != nil {
		return nil, err
	}
	if err := s.waitCaches(ctx); err != nil {
		return nil, err
	}
	if err := s.bootstrap(ctx); err != nil {
		return nil, err
	}
	s.startBackground(runCtx)
	s.handler = s.buildHandler()
	ok = true
	return s, nil
}

func (s *Server) setupTLS() error {
	o := s.opts
	var certPEM, keyPEM []byte
	clientCAs := x509.NewCertPool()
	if o.TLSCertFile == "" {
		ca, err := pki.EnsureCA(o.CertDir)
		if err != nil {
			return fmt.Errorf("certificate authority: %w", err)
		}
		s.ca = ca
		certFile, keyFile := filepath.Join(o.CertDir, "apiserver.crt"), filepath.Join(o.CertDir, "apiserver.key")
		ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, firstIP(o.ServiceClusterIPRange)}
		if o.AdvertiseAddress != nil {
			ips = append(ips, o.AdvertiseAddress)
		}
		if o.BindAddress != nil && !o.BindAddress.IsUnspecified() {
			ips = append(ips, o.BindAddress)
		}
		host, _ := os.Hostname()
		names := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
		if host != "" {
			names = append(names, host)
		}
		if c, err := tls.LoadX509KeyPair(certFile, keyFile); err == nil && coversAll(c, names, ips) {
			certPEM, keyPEM = mustRead(certFile), mustRead(keyFile)
		} else {
			certPEM, keyPEM, err = ca.IssueServing("kube-apiserver", names, ips)
			if err != nil {
				return fmt.Errorf("serving certificate: %w", err)
			}
			if err := pki.WriteKeyPair(certFile, keyFile, certPEM, keyPEM); err != nil {
				return err
			}
		}
		clientCAs.AddCert(ca.Cert)
		if err := s.writeAdminKubeconfig(); err != nil {
			return err
		}
		if err := s.ensureKubeletClientCert(); err != nil {
			return err
		}
	} else {
		var err error
		if certPEM, err = os.ReadFile(o.TLSCertFile); err != nil {
			return fmt.Errorf("--tls-cert-file: %w", err)
		}
		if keyPEM, err = os.ReadFile(o.TLSKeyFile); err != nil {
			return fmt.Errorf("--tls-private-key-file: %w", err)
		}
	}
	if o.ClientCAFile != "" {
		b, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return fmt.Errorf("--client-ca-file: %w", err)
		}
		if !clientCAs.AppendCertsFromPEM(b) {
			return fmt.Errorf("--client-ca-file %s holds no PEM certificates", o.ClientCAFile)
		}
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("serving key pair: %w", err)
	}
	s.clientCAs = clientCAs
	s.tls = &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    clientCAs,
		// Certificates are verified by the x509 authenticator, so that a
		// wrong one is a 401 Status rather than a failed handshake.
		ClientAuth: tls.RequestClientCert,
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
	}
	return nil
}

func mustRead(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// coversAll reports whether the certificate is valid for every name and IP.
func coversAll(c tls.Certificate, names []string, ips []net.IP) bool {
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil || time.Now().After(leaf.NotAfter.Add(-30*24*time.Hour)) {
		return false
	}
	for _, n := range names {
		if leaf.VerifyHostname(n) != nil {
			return false
		}
	}
	for _, ip := range ips {
		if ip != nil && leaf.VerifyHostname(ip.String()) != nil {
			return false
		}
	}
	return true
}

// writeAdminKubeconfig writes a system:masters client kubeconfig once.
func (s *Server) writeAdminKubeconfig() error {
	path := s.opts.AdminKubeconfig
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	certPEM, keyPEM, err := s.ca.IssueClient("kubernetes-admin", []string{authn.GroupMasters})
	if err != nil {
		return fmt.Errorf("admin client certificate: %w", err)
	}
	host := "127.0.0.1"
	if b := s.opts.BindAddress; b != nil && !b.IsUnspecified() {
		host = b.String()
	}
	return kubeconfig.Write(path, kubeconfig.Config{
		Server:   "https://" + net.JoinHostPort(host, fmt.Sprint(s.opts.SecurePort)),
		CAData:   s.ca.CertPEM,
		CertData: certPEM,
		KeyData:  keyPEM,
		User:     "kubernetes-admin",
		Cluster:  "navarch",
	})
}

// ensureKubeletClientCert issues the client certificate the apiserver shows
// kubelets (system:masters, as upstream's kubeadm does) unless one is given.
func (s *Server) ensureKubeletClientCert() error {
	o := s.opts
	if o.KubeletClientCertFile != "" {
		return nil
	}
	certFile := filepath.Join(o.CertDir, "apiserver-kubelet-client.crt")
	keyFile := filepath.Join(o.CertDir, "apiserver-kubelet-client.key")
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		certPEM, keyPEM, err := s.ca.IssueClient("kube-apiserver-kubelet-client", []string{authn.GroupMasters})
		if err != nil {
			return fmt.Errorf("kubelet client certificate: %w", err)
		}
		if err := pki.WriteKeyPair(certFile, keyFile, certPEM, keyPEM); err != nil {
			return err
		}
	}
	o.KubeletClientCertFile, o.KubeletClientKeyFile = certFile, keyFile
	return nil
}

// CA returns the cluster CA when the server manages its own PKI.
func (s *Server) CA() *pki.CA { return s.ca }

func (s *Server) connectEtcd() error {
	o := s.opts
	endpointsList := o.EtcdServers
	if len(endpointsList) == 0 {
		e, err := embedded.Start(embedded.Config{
			DataDir:   filepath.Join(o.DataDir, "etcd"),
			ClientURL: o.EmbeddedEtcdClientURL,
			PeerURL:   o.EmbeddedEtcdPeerURL,
		})
		if err != nil {
			return err
		}
		s.etcd = e
		endpointsList = []string{e.Endpoint}
	}
	cfg := clientv3.Config{Endpoints: endpointsList, DialTimeout: 10 * time.Second, MaxCallSendMsgSize: 8 << 20}
	if o.EtcdCertFile != "" || o.EtcdCAFile != "" {
		info := transport.TLSInfo{CertFile: o.EtcdCertFile, KeyFile: o.EtcdKeyFile, TrustedCAFile: o.EtcdCAFile}
		tc, err := info.ClientConfig()
		if err != nil {
			return fmt.Errorf("etcd TLS: %w", err)
		}
		cfg.TLS = tc
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	s.cli = cli
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.Get(ctx, "health"); err != nil {
		return fmt.Errorf("etcd %v not reachable: %w", endpointsList, err)
	}
	return nil
}

// keyPrefix is where a resource's objects live: <prefix>/<resource> for the
// core group, <prefix>/<group>/<resource> for the others.
func (s *Server) keyPrefix(gv schema.GroupVersion, plural string) string {
	p := strings.TrimSuffix(s.opts.EtcdPrefix, "/")
	if gv.Group == "" {
		return p + "/" + plural + "/"
	}
	return p + "/" + gv.Group + "/" + plural + "/"
}

func (s *Server) buildAPI(ctx context.Context) error {
	all := Resources()
	byGVR := map[schema.GroupVersionResource]*registry.Resource{}
	for _, r := range all {
		byGVR[r.GroupVersionResource()] = r
	}
	admission := s.admission()
	var eps []*endpoints.Endpoint
	for _, r := range all {
		if r.Storage != nil {
			continue
		}
		plural, gvr := r.Plural, r.GroupVersionResource()
		st := etcd.New(s.cli, func(op string, d time.Duration) { s.metrics.ObserveEtcd(op, plural, d) })
		store := registry.NewStore(r, st, s.keyPrefix(r.GroupVersion, r.Plural), s.opts.WatchCacheSize)
		store.Admission = admission
		s.stores[gvr] = store
	}
	for _, r := range all {
		storeGVR := r.GroupVersionResource()
		if r.Storage != nil {
			storeGVR = r.Storage.GroupVersion.WithResource(r.Storage.Plural)
		}
		store, ok := s.stores[storeGVR]
		if !ok {
			return fmt.Errorf("resource %s is stored as %s, which is not served", r.GroupVersionResource(), storeGVR)
		}
		eps = append(eps, &endpoints.Endpoint{Resource: r, Store: store})
	}
	if err := s.setupServices(ctx); err != nil {
		return err
	}
	authorizer, err := authz.New(s.opts.AuthorizationModes)
	if err != nil {
		return err
	}
	s.authorizer = authorizer
	s.api = endpoints.New(eps, endpoints.Options{
		Authorize: func(r *http.Request, ri *endpoints.RequestInfo) error { return authorize(authorizer, r, ri) },
		Observe: func(ri *endpoints.RequestInfo, code int, d time.Duration) {
			verb := ri.Verb
			s.metrics.ObserveRequest(strings.ToUpper(verb), ri.GroupVersion.Group, ri.GroupVersion.Version, ri.Resource, ri.Subresource, code, d)
		},
		Watchers: s.metrics.Watchers,
	})
	s.api.MinRequestTimeout = s.opts.MinRequestTimeout
	registerSubresources(s.api, s)
	registerKubeletSubresources(s.api, s)
	s.api.Subresource("serviceaccounts/token", endpoints.SubresourceInfo{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest", Verbs: []string{"create"}}, s.serveTokenRequest)
	(&review.Reviews{Tokens: s.tokenAuthenticators(), Authorizer: authorizer, APIAudiences: s.opts.APIAudiences}).Register(s.api)
	(&resourcemetrics.Provider{Source: metricsSource{s}, Kubelets: kubeletSummaries{s}, Resolution: s.opts.MetricResolution}).Register(s.api)
	if err := s.buildOpenAPI(eps); err != nil {
		return err
	}
	for _, st := range s.stores {
		store := st
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			store.Run(ctx)
		}()
	}
	return nil
}

// buildOpenAPI builds the /openapi/v2 and /openapi/v3 documents of the served
// resources and their subresources.
func (s *Server) buildOpenAPI(eps []*endpoints.Endpoint) error {
	extra := map[string][]string{
		"pods":            {"binding", "eviction", "log", "exec", "attach", "portforward"},
		"nodes":           {"proxy"},
		"serviceaccounts": {"token"},
		"namespaces":      {"finalize"},
	}
	var res []openapi.Resource
	for _, ep := range eps {
		r := ep.Resource
		var subs []string
		if r.Status {
			subs = append(subs, "status")
		}
		if r.Scale {
			subs = append(subs, "scale")
		}
		if r.GroupVersion.Group == "" {
			subs = append(subs, extra[r.Plural]...)
		}
		res = append(res, openapi.Resource{
			GroupVersion: r.GroupVersion, Plural: r.Plural, Kind: r.Kind, Namespaced: r.Namespaced,
			Object: r.New(), List: r.NewList(), Subresources: subs,
		})
	}
	docs, err := openapi.New(res, Version.GitVersion)
	if err != nil {
		return fmt.Errorf("openapi documents: %w", err)
	}
	s.openapi = docs
	return nil
}

func (s *Server) setupServices(ctx context.Context) error {
	ips, primary, err := s.serviceIPAllocators()
	if err != nil {
		return err
	}
	base, size, err := parsePortRange(s.opts.ServiceNodePortRange)
	if err != nil {
		return err
	}
	prefix := strings.TrimSuffix(s.opts.EtcdPrefix, "/")
	ports, err := ipalloc.NewPortAllocator(s.cli, prefix+"/ranges/servicenodeports", base, size)
	if err != nil {
		return fmt.Errorf("service node port range: %w", err)
	}
	svcStore := s.stores[schema.GroupVersionResource{Version: "v1", Resource: "services"}]
	if svcStore == nil {
		return errors.New("services are not served")
	}
	alloc := serviceAllocator(ips, primary, ports)
	svcStore.Hooks = alloc.Hooks()
	s.repairServices = func(ctx context.Context) error {
		svcs, err := listServices(ctx, svcStore)
		if err != nil {
			return err
		}
		return servicealloc.Repair(ctx, ips, ports, svcs)
	}
	return nil
}

func (s *Server) waitCaches(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for gvr, st := range s.stores {
		if err := st.Cache().WaitReady(ctx); err != nil {
			return fmt.Errorf("watch cache of %s: %w", gvr, err)
		}
	}
	return nil
}

// startBackground starts compaction, bookmarks and the periodic service range repair.
func (s *Server) startBackground(ctx context.Context) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.compactLoop(ctx)
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.kubernetesEndpointsLoop(ctx)
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.opts.BookmarkInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, st := range s.stores {
					st.Cache().Bookmark()
				}
			}
		}
	}()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(3 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.repairServices(ctx); err != nil && ctx.Err() == nil {
					slog.Error("service range repair", "err", err)
				}
			}
		}
	}()
}

// compactLoop compacts etcd history every interval up to the revision seen at
// the previous tick, so watchers always have at least one interval to resume.
func (s *Server) compactLoop(ctx context.Context) {
	if s.opts.EtcdCompactionInterval <= 0 {
		return
	}
	t := time.NewTicker(s.opts.EtcdCompactionInterval)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if last > 0 {
			if err := s.store.Compact(ctx, last); err != nil && ctx.Err() == nil {
				slog.Warn("etcd compaction", "revision", last, "err", err)
			}
		}
		rev, err := s.store.Revision(ctx)
		if err == nil {
			last = rev
		}
	}
}

// Handler is the server's whole HTTP handler (filters included).
func (s *Server) Handler() http.Handler { return s.handler }

// TLSConfig is the serving TLS configuration.
func (s *Server) TLSConfig() *tls.Config { return s.tls }

// EtcdClient is the server's etcd client (tests use it to compact or read raw keys).
func (s *Server) EtcdClient() *clientv3.Client { return s.cli }

// Serve serves HTTPS on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.tls,
		ReadHeaderTimeout: 30 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slogErrorLog(),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, s.tls)) }()
	var etcdErr <-chan error
	if s.etcd != nil {
		etcdErr = s.etcd.Err()
	}
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	case err := <-etcdErr:
		_ = srv.Close()
		return fmt.Errorf("embedded etcd failed: %w", err)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// Close stops the background work, the etcd client and the embedded etcd.
func (s *Server) Close() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	if s.cli != nil {
		_ = s.cli.Close()
	}
	if s.etcd != nil {
		s.etcd.Close()
	}
}

func firstIP(cidr string) net.IP {
	cidr, _, _ = strings.Cut(cidr, ",") // the primary range
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil
	}
	ip := make(net.IP, len(n.IP))
	copy(ip, n.IP)
	ip[len(ip)-1]++
	return ip
}
