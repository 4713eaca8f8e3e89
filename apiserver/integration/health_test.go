package integration

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"testing"

	"navarch.dev/apiserver/testserver"
)

// Kubelet probes carry no credentials: the health endpoints answer them,
// while the API still turns such requests away.
func TestHealthEndpointsWithoutCredentials(t *testing.T) {
	ts := testserver.Start(t)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ts.Config.TLSClientConfig.CAData) {
		t.Fatal("test server config holds no CA")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	tests := []struct {
		name, path string
		wantCode   int
		wantBody   string
	}{
		{name: "livez", path: "/livez", wantCode: 200, wantBody: "ok"},
		{name: "readyz", path: "/readyz", wantCode: 200, wantBody: "ok"},
		{name: "healthz", path: "/healthz", wantCode: 200, wantBody: "ok"},
		{name: "one check", path: "/healthz/etcd", wantCode: 200, wantBody: "ok"},
		{name: "api", path: "/api/v1/namespaces", wantCode: 401},
		{name: "below a check", path: "/healthz/etcd/x", wantCode: 401},
		{name: "metrics", path: "/metrics", wantCode: 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.Get(ts.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("GET %s: %d %s, want %d", tc.path, resp.StatusCode, body, tc.wantCode)
			}
			if tc.wantBody != "" && string(body) != tc.wantBody {
				t.Errorf("GET %s: body %q, want %q", tc.path, body, tc.wantBody)
			}
		})
	}
}
