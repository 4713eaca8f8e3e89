package authn

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"reflect"
	"strings"
	"testing"
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

func TestX509UsesCommonNameAndOrganizations(t *testing.T) {
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "kubernetes-admin", Organization: []string{"system:masters"}}}
	r, _ := http.NewRequest("GET", "/", nil)
	r.TLS = &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}
	u, ok, err := Union{X509{}}.Authenticate(r)
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if u.Name != "kubernetes-admin" || !reflect.DeepEqual(u.Groups, []string{"system:masters", GroupAuthenticated}) {
		t.Fatalf("user %q groups %v", u.Name, u.Groups)
	}
	// An unverified certificate (no verified chain) identifies nobody.
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	if _, ok, _ := (X509{}).Authenticate(r); ok {
		t.Fatal("unverified certificate authenticated")
	}
}
