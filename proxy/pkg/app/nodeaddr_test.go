package app

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestNodePortIPs(t *testing.T) {
	local := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.168.77.1"),
		netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.1.5"), netip.MustParseAddr("fd00::1")}
	tests := []struct {
		name    string
		specs   []string
		nodeIPs []string
		ipv6    bool
		want    []string
		wantErr string
	}{
		{name: "unset means all", want: nil},
		{name: "one cidr", specs: []string{"10.0.0.0/24"}, want: []string{"10.0.0.5"}},
		{name: "two cidrs and loopback", specs: []string{"10.0.0.0/16", "127.0.0.0/8"}, want: []string{"127.0.0.1", "10.0.0.5", "10.0.1.5"}},
		{name: "primary", specs: []string{"primary"}, nodeIPs: []string{"192.168.77.1"}, want: []string{"192.168.77.1"}},
		{name: "primary without node IP", specs: []string{"primary"}, want: []string{}},
		{name: "no match", specs: []string{"172.16.0.0/12"}, want: []string{}},
		{name: "ipv6 of mixed", specs: []string{"10.0.0.0/8", "fd00::/8", "primary"}, nodeIPs: []string{"192.168.77.1", "fd00::1"}, ipv6: true, want: []string{"fd00::1"}},
		{name: "ipv6 unset means all", ipv6: true, want: nil},
		{name: "bad value", specs: []string{"10.0.0.0/33"}, wantErr: `"10.0.0.0/33" is neither a CIDR nor "primary"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nodePortIPs(tt.specs, tt.nodeIPs, local, tt.ipv6)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Fatalf("nodePortIPs = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
