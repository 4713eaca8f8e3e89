package iptables

import "testing"

// The expected names are the ones upstream kube-proxy gives the same
// service ports and endpoints, so rules stay recognisable to operators.
func TestChainNames(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{name: "kubernetes service", parts: []string{"default/kubernetes:https", "tcp"}, want: "NPX46M4PTMTKRN6Y"},
		{name: "service port", parts: []string{"ns1/svc1:p80", "tcp"}, want: "XPGD46QRK7WJZT7O"},
		{name: "endpoint", parts: []string{"ns1/svc1:p80", "tcp", "10.180.0.1:80"}, want: "SXIVWICOYRO3J4NJ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := portProtoHash(tt.parts...); got != tt.want {
				t.Errorf("portProtoHash(%q) = %s, want %s", tt.parts, got, tt.want)
			}
		})
	}
}
