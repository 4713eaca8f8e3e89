package healthcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"navarch.dev/proxy/pkg/servicemap"
)

// ServiceHealthServer serves the health check node ports
// (spec.healthCheckNodePort) of LoadBalancer services with
// externalTrafficPolicy Local, as upstream kube-proxy does: an external
// load balancer asks every node, and only nodes with a local endpoint answer
// 200, so traffic keeps its client source IP and never leaves the node.
//
// Sync is called with every snapshot the proxier programs; the other
// methods are safe for concurrent use.
type ServiceHealthServer struct {
	// addrs are the local IPs to listen on; empty listens on all.
	addrs  []string
	listen func(network, addr string) (net.Listener, error)
	proxy  *ProxyHealth
	log    *slog.Logger

	mu       sync.Mutex
	services map[servicemap.ServiceName]*hcService
}

type hcService struct {
	name    servicemap.ServiceName
	port    int32
	servers []*http.Server

	mu    sync.Mutex
	local int
}

// NewServiceHealthServer returns a server that listens with listen (which
// may enter a network namespace) on each of addrs, or on every address when
// addrs is empty. proxy, when set, makes answers 503 while the proxy's own
// rules are stale, as upstream's serviceProxyHealthy does.
func NewServiceHealthServer(addrs []string, listen func(network, addr string) (net.Listener, error), proxy *ProxyHealth, log *slog.Logger) *ServiceHealthServer {
	if listen == nil {
		listen = net.Listen
	}
	if log == nil {
		log = slog.Default()
	}
	return &ServiceHealthServer{addrs: addrs, listen: listen, proxy: proxy, log: log, services: map[servicemap.ServiceName]*hcService{}}
}

// Sync opens the health check ports of the services that have one, closes
// those of services that no longer do, and updates the local endpoint
// counts. A port that cannot be opened is reported in the error; the others
// are served regardless.
func (s *ServiceHealthServer) Sync(services map[servicemap.ServiceName]*servicemap.Service) error {
	type want struct {
		port  int32
		local int
	}
	wanted := map[servicemap.ServiceName]want{}
	for name, svc := range services {
		var port int32
		ips := map[string]bool{}
		for _, p := range svc.Ports {
			if p.HealthCheckNodePort == 0 {
				continue
			}
			port = p.HealthCheckNodePort
			for _, e := range p.LocalEndpoints() {
				ips[e.IP] = true
			}
		}
		if port != 0 {
			wanted[name] = want{port, len(ips)}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for name, hc := range s.services {
		if w, ok := wanted[name]; !ok || w.port != hc.port {
			hc.close()
			delete(s.services, name)
		}
	}
	var errs []error
	for name, w := range wanted {
		hc, ok := s.services[name]
		if !ok {
			var err error
			if hc, err = s.open(name, w.port); err != nil {
				errs = append(errs, err)
				continue
			}
			s.services[name] = hc
		}
		hc.mu.Lock()
		hc.local = w.local
		hc.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (s *ServiceHealthServer) open(name servicemap.ServiceName, port int32) (*hcService, error) {
	hc := &hcService{name: name, port: port}
	addrs := s.addrs
	if len(addrs) == 0 {
		addrs = []string{""}
	}
	for _, a := range addrs {
		ln, err := s.listen("tcp", net.JoinHostPort(a, strconv.Itoa(int(port))))
		if err != nil {
			hc.close()
			return nil, fmt.Errorf("healthcheck: service %s: %w", name, err)
		}
		srv := &http.Server{Handler: s.handler(hc), ReadHeaderTimeout: 10 * time.Second}
		hc.servers = append(hc.servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("health check node port stopped", "service", name.String(), "port", port, "err", err)
			}
		}()
	}
	s.log.Info("opened health check node port", "service", name.String(), "port", port)
	return hc, nil
}

func (hc *hcService) close() {
	for _, srv := range hc.servers {
		srv.Close()
	}
}

// Close stops every health check port.
func (s *ServiceHealthServer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, hc := range s.services {
		hc.close()
		delete(s.services, name)
	}
}

type serviceBody struct {
	Service struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"service"`
	LocalEndpoints      int  `json:"localEndpoints"`
	ServiceProxyHealthy bool `json:"serviceProxyHealthy"`
}

// handler answers every path, as upstream does: 200 when the node has a
// local endpoint and the proxy is healthy, 503 otherwise, with the count in
// the body and in X-Load-Balancing-Endpoint-Weight.
func (s *ServiceHealthServer) handler(hc *hcService) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hc.mu.Lock()
		n := hc.local
		hc.mu.Unlock()
		healthy := true
		if s.proxy != nil {
			healthy, _ = s.proxy.Healthy()
		}
		var b serviceBody
		b.Service.Namespace, b.Service.Name = hc.name.Namespace, hc.name.Name
		b.LocalEndpoints, b.ServiceProxyHealthy = n, healthy
		out, _ := json.MarshalIndent(b, "", "\t")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Load-Balancing-Endpoint-Weight", strconv.Itoa(n))
		if n > 0 && healthy {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write(out)
	})
}
