package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"navarch.dev/shared/pki"
)

func TestRootCA(t *testing.T) {
	ca, err := pki.NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("ca.crt", ca.CertPEM)
	kubeconfigCA := write("kubeconfig-ca.crt", append([]byte("# other\n"), ca.CertPEM...))
	tests := []struct {
		name    string
		file    string
		cfg     *rest.Config
		want    []byte
		wantErr string
	}{
		{name: "file", file: good, cfg: &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: []byte("ignored")}}, want: ca.CertPEM},
		{name: "kubeconfig CA data", cfg: &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: ca.CertPEM}}, want: ca.CertPEM},
		{name: "kubeconfig CA file", cfg: &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAFile: kubeconfigCA}}, want: append([]byte("# other\n"), ca.CertPEM...)},
		{name: "missing file", file: filepath.Join(dir, "nope.crt"), wantErr: "--root-ca-file"},
		{name: "not PEM", file: write("junk", []byte("hello")), wantErr: "no PEM certificates"},
		{name: "bad certificate", file: write("bad.crt", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")), wantErr: "--root-ca-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rootCA(tt.file, tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("bundle %q, want %q", got, tt.want)
			}
		})
	}

	// The flag is checked with the other options.
	o := NewOptions()
	o.RootCAFile = filepath.Join(dir, "junk")
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--root-ca-file") {
		t.Errorf("Validate with a bad --root-ca-file: %v", err)
	}
	o.RootCAFile = good
	if err := o.Validate(); err != nil {
		t.Errorf("Validate with a good --root-ca-file: %v", err)
	}
}
