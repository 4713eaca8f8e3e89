package component

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func passing() error { return nil }

func failing() error { return errors.New("etcd: connection refused to 10.0.0.5:2379") }

func TestHandlerHealth(t *testing.T) {
	allPass := map[string]func() error{"etcd": passing, "informer-sync": passing}
	etcdDown := map[string]func() error{"etcd": failing, "informer-sync": passing}
	tests := []struct {
		name     string
		checks   map[string]func() error
		path     string
		wantCode int
		wantBody string
	}{
		{name: "healthz ok", checks: allPass, path: "/healthz", wantCode: 200, wantBody: "ok"},
		{name: "livez ok", checks: allPass, path: "/livez", wantCode: 200, wantBody: "ok"},
		{name: "readyz ok", checks: allPass, path: "/readyz", wantCode: 200, wantBody: "ok"},
		{name: "no checks still answers", checks: nil, path: "/healthz", wantCode: 200, wantBody: "ok"},
		{
			name: "verbose lists checks", checks: allPass, path: "/readyz?verbose", wantCode: 200,
			wantBody: "[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\nreadyz check passed\n",
		},
		{
			name: "failing check", checks: etcdDown, path: "/healthz", wantCode: 500,
			wantBody: "[+]ping ok\n[-]etcd failed: reason withheld\n[+]informer-sync ok\nhealthz check failed\n",
		},
		{
			name: "failing check verbose", checks: etcdDown, path: "/livez?verbose", wantCode: 500,
			wantBody: "[+]ping ok\n[-]etcd failed: reason withheld\n[+]informer-sync ok\nlivez check failed\n",
		},
		{name: "failing check excluded", checks: etcdDown, path: "/readyz?exclude=etcd", wantCode: 200, wantBody: "ok"},
		{
			name: "exclusions listed when verbose", checks: etcdDown, path: "/readyz?exclude=etcd&exclude=nope&verbose", wantCode: 200,
			wantBody: "[+]ping ok\n[+]etcd excluded: ok\n[+]informer-sync ok\n" +
				"warn: some health checks cannot be excluded: no matches for nope\nreadyz check passed\n",
		},
		{
			name: "nil check fails", checks: map[string]func() error{"broken": nil}, path: "/healthz", wantCode: 500,
			wantBody: "[+]ping ok\n[-]broken failed: reason withheld\nhealthz check failed\n",
		},
		{name: "single passing check", checks: etcdDown, path: "/healthz/informer-sync", wantCode: 200, wantBody: "ok"},
		{name: "single check on readyz", checks: allPass, path: "/readyz/etcd", wantCode: 200, wantBody: "ok"},
		{name: "ping check", checks: nil, path: "/livez/ping", wantCode: 200, wantBody: "ok"},
		{
			name: "single failing check shows error", checks: etcdDown, path: "/healthz/etcd", wantCode: 500,
			wantBody: "internal server error: etcd: connection refused to 10.0.0.5:2379\n",
		},
		{name: "unknown check", checks: allPass, path: "/healthz/nope", wantCode: 404, wantBody: "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Handler(tt.checks, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Errorf("GET %s: code %d, want %d", tt.path, rec.Code, tt.wantCode)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("GET %s: body\n%q\nwant\n%q", tt.path, got, tt.wantBody)
			}
		})
	}
}

func TestHandlerMetricsAndPprof(t *testing.T) {
	reg := prometheus.NewRegistry()
	syncs := prometheus.NewCounter(prometheus.CounterOpts{Name: "navarch_test_syncs_total", Help: "Syncs."})
	reg.MustRegister(syncs)
	syncs.Add(3)

	tests := []struct {
		name     string
		reg      *prometheus.Registry
		path     string
		wantCode int
		want     []string
		notWant  []string
	}{
		{
			name: "component and runtime metrics", reg: reg, path: "/metrics", wantCode: 200,
			want: []string{"navarch_test_syncs_total 3", "go_goroutines ", "process_start_time_seconds "},
		},
		{
			name: "runtime metrics without a registry", reg: nil, path: "/metrics", wantCode: 200,
			want: []string{"go_goroutines "}, notWant: []string{"navarch_test_syncs_total"},
		},
		{name: "pprof index", reg: nil, path: "/debug/pprof/", wantCode: 200, want: []string{"goroutine"}},
		{name: "pprof goroutine profile", reg: nil, path: "/debug/pprof/goroutine?debug=1", wantCode: 200, want: []string{"goroutine profile:"}},
		{name: "pprof cmdline", reg: nil, path: "/debug/pprof/cmdline", wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Handler(nil, tt.reg).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("GET %s: code %d, want %d", tt.path, rec.Code, tt.wantCode)
			}
			body := rec.Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: body lacks %q", tt.path, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("GET %s: body has %q", tt.path, w)
				}
			}
		})
	}
}

// TestServe runs the server on a real listener, talks to it, and checks that
// cancelling the context stops it and frees the port.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, map[string]func() error{"etcd": failing}, nil) }()

	tests := []struct {
		name     string
		path     string
		wantCode int
	}{
		{name: "ready fails", path: "/readyz", wantCode: 500},
		{name: "live with exclusion", path: "/livez?exclude=etcd", wantCode: 200},
		{name: "metrics", path: "/metrics", wantCode: 200},
	}
	client := &http.Client{Transport: &http.Transport{}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := client.Get("http://" + addr + tt.path)
			if err != nil {
				t.Fatalf("GET %s: %v", tt.path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Errorf("GET %s: code %d, want %d", tt.path, resp.StatusCode, tt.wantCode)
			}
		})
	}
	client.CloseIdleConnections()

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v after cancel, want nil", err)
	}
	// The port is released: it can be bound again.
	again, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s after shutdown: %v", addr, err)
	}
	again.Close()
}

func TestServeHealthListenError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		addr string
	}{
		{name: "port in use", addr: busy.Addr().String()},
		{name: "malformed address", addr: "127.0.0.1:notaport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The context is never cancelled: ServeHealth must return on
			// its own.
			err := ServeHealth(context.Background(), tt.addr, nil, nil)
			if err == nil || !strings.Contains(err.Error(), "health server") {
				t.Fatalf("ServeHealth(%q) = %v, want a health server error", tt.addr, err)
			}
		})
	}
}
