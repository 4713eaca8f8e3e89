package authn

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"navarch.dev/shared/pki"
)

func TestParseTokensAndAuthenticate(t *testing.T) {
	file := "# token,user,uid,groups\nabc123,alice,1001,\"dev,ops\"\ndef456,bob,1002\n"
	tokens, err := ParseTokens(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		header     string
		wantOK     bool
		wantErr    bool
		wantUser   string
		wantGroups []string
	}{
		{name: "alice with groups", header: "Bearer abc123", wantOK: true, wantUser: "alice", wantGroups: []string{"dev", "ops", GroupAuthenticated}},
		{name: "bob without groups", header: "bearer def456", wantOK: true, wantUser: "bob", wantGroups: []string{GroupAuthenticated}},
		{name: "wrong token", header: "Bearer nope", wantErr: true},
		{name: "no header", header: ""},
		{name: "basic auth is not a token", header: "Basic YWxpY2U6cHc="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			u, ok, err := Union{X509{}, tokens}.Authenticate(r)
			if ok != tc.wantOK || (err != nil) != tc.wantErr {
				t.Fatalf("ok=%v err=%v, want ok=%v err=%v", ok, err, tc.wantOK, tc.wantErr)
			}
			if ok && (u.Name != tc.wantUser || !reflect.DeepEqual(u.Groups, tc.wantGroups)) {
				t.Fatalf("user %q groups %v, want %q %v", u.Name, u.Groups, tc.wantUser, tc.wantGroups)
			}
		})
	}
}

func TestParseTokensRejectsBadFiles(t *testing.T) {
	for name, file := range map[string]string{
		"too few fields": "abc,alice\n",
		"empty token":    ",alice,1\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseTokens(strings.NewReader(file)); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestX509(t *testing.T) {
	ca, err := pki.NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("other-ca")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(certPEM []byte) *x509.Certificate {
		block, _ := pem.Decode(certPEM)
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	admin, _, _ := ca.IssueClient("kubernetes-admin", []string{"system:masters"})
	stranger, _, _ := other.IssueClient("mallory", nil)
	serving, _, _ := ca.IssueServing("server", []string{"localhost"}, nil)
	tests := []struct {
		name       string
		cert       []byte
		wantOK     bool
		wantErr    bool
		wantUser   string
		wantGroups []string
	}{
		{name: "client certificate of the CA", cert: admin, wantOK: true, wantUser: "kubernetes-admin", wantGroups: []string{"system:masters", GroupAuthenticated}},
		{name: "certificate of another CA", cert: stranger, wantErr: true},
		{name: "serving certificate used as client", cert: serving, wantErr: true},
		{name: "no certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest("GET", "/", nil)
			r.TLS = &tls.ConnectionState{}
			if tc.cert != nil {
				r.TLS.PeerCertificates = []*x509.Certificate{parse(tc.cert)}
			}
			// The caching authenticator answers a repeated request (from
			// its cache when the chain verified) as the first.
			cached := NewX509(ca.Pool())
			for i, a := range []Authenticator{X509{Roots: ca.Pool()}, cached, cached} {
				u, ok, err := Union{a}.Authenticate(r)
				if ok != tc.wantOK || (err != nil) != tc.wantErr {
					t.Fatalf("authenticator %d: ok=%v err=%v, want ok=%v err=%v", i, ok, err, tc.wantOK, tc.wantErr)
				}
				if ok && (u.Name != tc.wantUser || !reflect.DeepEqual(u.Groups, tc.wantGroups)) {
					t.Fatalf("authenticator %d: user %q groups %v", i, u.Name, u.Groups)
				}
			}
		})
	}
}

func TestX509CacheExpiresWithTheCertificate(t *testing.T) {
	ca, err := pki.NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := ca.IssueClient("kubernetes-admin", []string{"system:masters"})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	a := NewX509(ca.Pool())
	r, _ := http.NewRequest("GET", "/", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	if _, ok, err := a.Authenticate(r); !ok || err != nil {
		t.Fatalf("first request: ok=%v err=%v", ok, err)
	}
	key := chainKey(r.TLS.PeerCertificates)
	if !a.verified.valid(key, time.Now()) {
		t.Fatal("verified chain not cached")
	}
	if a.verified.valid(key, cert.NotAfter.Add(time.Second)) {
		t.Fatal("cached verification outlives the certificate")
	}
}
