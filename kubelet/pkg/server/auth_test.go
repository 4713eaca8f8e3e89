package server

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	v1 "k8s.io/api/core/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"navarch.dev/kubelet/pkg/runtime"
	"navarch.dev/kubelet/pkg/runtime/fakecri"
	"navarch.dev/shared/pki"
)

// reviewer is a fake apiserver's TokenReview and SubjectAccessReview: the
// token "alice-token" is alice (group devs); alice may get nodes/proxy and
// nodes/stats of n1, members of system:masters anything.
type reviewer struct {
	mu           sync.Mutex
	tokenReviews int
	sars         []authorizationv1.SubjectAccessReviewSpec
}

func (rv *reviewer) install(c *fake.Clientset) {
	c.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview).DeepCopy()
		rv.mu.Lock()
		rv.tokenReviews++
		rv.mu.Unlock()
		if tr.Spec.Token == "alice-token" {
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: "alice", UID: "a-1", Groups: []string{"devs", "system:authenticated"}}}
		} else {
			tr.Status = authenticationv1.TokenReviewStatus{Error: "invalid token"}
		}
		return true, tr, nil
	})
	c.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, k8sruntime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		rv.mu.Lock()
		rv.sars = append(rv.sars, sar.Spec)
		rv.mu.Unlock()
		ra := sar.Spec.ResourceAttributes
		masters := false
		for _, g := range sar.Spec.Groups {
			masters = masters || g == "system:masters"
		}
		aliceMay := sar.Spec.User == "alice" && ra.Resource == "nodes" && ra.Name == "n1" && (ra.Subresource == "proxy" || ra.Subresource == "stats")
		sar.Status.Allowed = masters || aliceMay
		return true, sar, nil
	})
}

func (rv *reviewer) counts() (int, int) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return rv.tokenReviews, len(rv.sars)
}

func TestTokenWebhookAndAuthorization(t *testing.T) {
	cri := fakecri.Start(t)
	rt, err := runtime.Dial(cri.Endpoint, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ca, _ := pki.NewCA("cluster")
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.IssueClient("kube-apiserver-kubelet-client", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	apiserverCert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}

	client := fake.NewSimpleClientset()
	rv := &reviewer{}
	rv.install(client)
	s, err := New(Config{NodeName: "n1", NodeIP: "127.0.0.1", ClientCAFile: caFile, AnonymousAuth: true,
		AuthenticationTokenWebhook: true, AuthorizationMode: AuthorizationWebhook},
		Deps{Runtime: rt.RuntimeService(), Pods: func() []*v1.Pod { return nil }, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1_700_000_000, 0)
	var clockMu sync.Mutex
	now := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
	s.tokenCache.now, s.decisions.now = now, now
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ServeTLS(ctx, ln, s.Handler(), s.TLSConfig())

	do := func(method, path, token string, certs []tls.Certificate) (int, string) {
		t.Helper()
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: certs}}}
		req, _ := http.NewRequest(method, "https://"+ln.Addr().String()+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}

	tests := []struct {
		name     string
		method   string
		path     string
		token    string
		cert     bool
		wantCode int
		wantBody string
	}{
		{name: "alice's token, pods (nodes/proxy)", method: "GET", path: "/pods", token: "alice-token", wantCode: 200},
		{name: "alice's token, metrics is not hers", method: "GET", path: "/metrics", token: "alice-token", wantCode: 403,
			wantBody: "Forbidden (user=alice, verb=get, resource=nodes, subresource=metrics)"},
		{name: "alice's token, exec is create on nodes/proxy", method: "POST", path: "/exec/default/p/c?command=true", token: "alice-token", wantCode: 404},
		{name: "a refused token is 401, not anonymous", method: "GET", path: "/pods", token: "stolen", wantCode: 401},
		{name: "anonymous may not", method: "GET", path: "/pods", wantCode: 403,
			wantBody: "Forbidden (user=system:anonymous, verb=get, resource=nodes, subresource=proxy)"},
		{name: "the apiserver's client certificate (system:masters)", method: "GET", path: "/metrics", cert: true, wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var certs []tls.Certificate
			if tt.cert {
				certs = []tls.Certificate{apiserverCert}
			}
			code, body := do(tt.method, tt.path, tt.token, certs)
			if code != tt.wantCode || (tt.wantBody != "" && body != tt.wantBody) {
				t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, code, body, tt.wantCode, tt.wantBody)
			}
		})
	}
	// What the reviews were asked.
	rv.mu.Lock()
	first := rv.sars[0]
	var exec authorizationv1.SubjectAccessReviewSpec
	for _, s := range rv.sars {
		if s.ResourceAttributes.Verb == "create" {
			exec = s
		}
	}
	rv.mu.Unlock()
	if ra := first.ResourceAttributes; first.User != "alice" || first.UID != "a-1" || ra.Verb != "get" || ra.Resource != "nodes" || ra.Subresource != "proxy" || ra.Name != "n1" {
		t.Errorf("first SubjectAccessReview = %+v %+v", first, first.ResourceAttributes)
	}
	if exec.ResourceAttributes == nil || exec.ResourceAttributes.Subresource != "proxy" {
		t.Errorf("exec's SubjectAccessReview = %+v, want create on nodes/proxy", exec)
	}

	// Answers are cached: the same token and request ask nothing again.
	trBefore, sarBefore := rv.counts()
	for i := 0; i < 3; i++ {
		if code, _ := do("GET", "/pods", "alice-token", nil); code != 200 {
			t.Fatalf("cached GET /pods = %d", code)
		}
		if code, _ := do("GET", "/pods", "stolen", nil); code != 401 {
			t.Fatalf("cached refused token = %d", code)
		}
	}
	if tr, sar := rv.counts(); tr != trBefore || sar != sarBefore {
		t.Errorf("reviews while cached: %d token, %d access; want none", tr-trBefore, sar-sarBefore)
	}
	// After the token cache TTL (2m) the token is reviewed again; the
	// allowed decision (5m) still holds.
	clockMu.Lock()
	clock = clock.Add(2*time.Minute + time.Second)
	clockMu.Unlock()
	do("GET", "/pods", "alice-token", nil)
	if tr, sar := rv.counts(); tr != trBefore+1 || sar != sarBefore {
		t.Errorf("after 2m: %d token reviews, %d access reviews; want 1 and 0", tr-trBefore, sar-sarBefore)
	}
	// A denial is cached for 30s only.
	clockMu.Lock()
	clock = clock.Add(31 * time.Second)
	clockMu.Unlock()
	do("GET", "/metrics", "alice-token", nil)
	if _, sar := rv.counts(); sar != sarBefore+1 {
		t.Errorf("denied decision after 31s: %d access reviews, want 1", sar-sarBefore)
	}
}

func TestAuthConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "unknown mode", cfg: Config{AuthorizationMode: "RBAC"}, want: `unknown --authorization-mode "RBAC"`},
		{name: "webhook without apiserver", cfg: Config{AuthorizationMode: AuthorizationWebhook}, want: "needs an apiserver"},
		{name: "token webhook without apiserver", cfg: Config{AuthenticationTokenWebhook: true}, want: "needs an apiserver"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRequestAttributes(t *testing.T) {
	for _, tt := range []struct {
		method, path, verb, sub string
	}{
		{"GET", "/pods", "get", "proxy"},
		{"GET", "/stats/summary", "get", "stats"},
		{"GET", "/metrics", "get", "metrics"},
		{"GET", "/metrics/cadvisor", "get", "metrics"},
		{"GET", "/logs/", "get", "log"},
		{"GET", "/healthz", "get", "healthz"},
		{"GET", "/statsz", "get", "proxy"},
		{"POST", "/exec/ns/p/c", "create", "proxy"},
		{"GET", "/containerLogs/ns/p/c", "get", "proxy"},
		{"PUT", "/x", "update", "proxy"},
		{"DELETE", "/x", "delete", "proxy"},
	} {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		if a := requestAttributes(r); a.verb != tt.verb || a.subresource != tt.sub {
			t.Errorf("%s %s = %+v, want %s %s", tt.method, tt.path, a, tt.verb, tt.sub)
		}
	}
}
