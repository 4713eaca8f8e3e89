package healthcheck

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"navarch.dev/proxy/pkg/servicemap"
)

func freePort(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

func lbLocal(name string, hcPort int32, eps ...servicemap.Endpoint) *servicemap.Service {
	n := servicemap.ServiceName{Namespace: "ns1", Name: name}
	return &servicemap.Service{Name: n, Ports: []*servicemap.ServicePort{{
		Name: servicemap.ServicePortName{ServiceName: n, Port: "http", Protocol: "TCP"}, ClusterIP: "10.96.0.9", Port: 80,
		NodePort: 30009, ExternalLocal: true, HealthCheckNodePort: hcPort, Endpoints: eps,
	}}}
}

type answer struct {
	code   int
	weight string
	body   serviceBody
}

func ask(t *testing.T, port int32) (answer, error) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(int(port)) + "/")
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, weight: resp.Header.Get("X-Load-Balancing-Endpoint-Weight")}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q, want application/json", resp.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("body %q: %v", raw, err)
	}
	return a, nil
}

func TestServiceHealthServer(t *testing.T) {
	port := freePort(t)
	proxy := New(time.Minute)
	now := time.Unix(1000, 0)
	proxy.now = func() time.Time { return now }
	s := NewServiceHealthServer([]string{"127.0.0.1"}, nil, proxy, nil)
	t.Cleanup(s.Close)
	local := servicemap.Endpoint{IP: "10.244.1.2", Port: 8080, Ready: true, Serving: true, Local: true}
	remote := servicemap.Endpoint{IP: "10.244.2.2", Port: 8080, Ready: true, Serving: true}

	steps := []struct {
		name       string
		services   []*servicemap.Service
		stale      bool
		wantCode   int
		wantLocal  int
		wantHealth bool
		wantClosed bool
	}{
		{name: "no local endpoints", services: []*servicemap.Service{lbLocal("web", port, remote)}, wantCode: 503, wantHealth: true},
		{name: "one local endpoint", services: []*servicemap.Service{lbLocal("web", port, local, remote)}, wantCode: 200, wantLocal: 1, wantHealth: true},
		{name: "proxy rules stale", services: []*servicemap.Service{lbLocal("web", port, local, remote)}, stale: true, wantCode: 503, wantLocal: 1},
		{name: "service gone", wantClosed: true},
	}
	for _, st := range steps {
		m := map[servicemap.ServiceName]*servicemap.Service{}
		for _, svc := range st.services {
			m[svc.Name] = svc
		}
		if err := s.Sync(m); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.stale {
			proxy.QueuedUpdate()
			now = now.Add(2 * time.Minute)
		}
		got, err := ask(t, port)
		if st.wantClosed {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("%s: GET = %v, want connection refused", st.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got.code != st.wantCode || got.body.LocalEndpoints != st.wantLocal || got.body.ServiceProxyHealthy != st.wantHealth ||
			got.body.Service.Namespace != "ns1" || got.body.Service.Name != "web" || got.weight != strconv.Itoa(st.wantLocal) {
			t.Errorf("%s: got %+v, want code %d, localEndpoints %d, healthy %v for ns1/web", st.name, got, st.wantCode, st.wantLocal, st.wantHealth)
		}
	}
}

func TestServiceHealthServerPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := int32(ln.Addr().(*net.TCPAddr).Port)
	free := freePort(t)
	s := NewServiceHealthServer([]string{"127.0.0.1"}, nil, nil, nil)
	t.Cleanup(s.Close)
	local := servicemap.Endpoint{IP: "10.244.1.2", Port: 8080, Ready: true, Serving: true, Local: true}
	m := map[servicemap.ServiceName]*servicemap.Service{}
	for _, svc := range []*servicemap.Service{lbLocal("busy", busy, local), lbLocal("ok", free, local)} {
		m[svc.Name] = svc
	}
	if err := s.Sync(m); err == nil {
		t.Error("Sync with a port in use returned no error")
	}
	if got, err := ask(t, free); err != nil || got.code != 200 || got.body.Service.Name != "ok" {
		t.Errorf("the other service's port: %+v, %v; want 200 for ns1/ok", got, err)
	}
}
