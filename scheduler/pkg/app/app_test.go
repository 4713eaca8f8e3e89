package app

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"navarch.dev/scheduler/pkg/decisions"
)

func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	store := decisions.NewStore(0)
	store.Record(&decisions.Decision{Namespace: "ns", Pod: "p", Result: decisions.Scheduled, Node: "n1"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, nil, prometheus.NewRegistry(), store) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	base := "http://" + ln.Addr().String()
	tests := []struct {
		name     string
		path     string
		code     int
		contains string
	}{
		{name: "healthz", path: "/healthz", code: 200, contains: "ok"},
		{name: "readyz", path: "/readyz", code: 200, contains: "ok"},
		{name: "metrics", path: "/metrics", code: 200, contains: "go_goroutines"},
		{name: "decision", path: "/debug/decisions/ns/p", code: 200, contains: `"node": "n1"`},
		{name: "no decision", path: "/debug/decisions/ns/other", code: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(base + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code || !strings.Contains(string(body), tt.contains) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tt.path, resp.StatusCode, body, tt.code, tt.contains)
			}
		})
	}
}
