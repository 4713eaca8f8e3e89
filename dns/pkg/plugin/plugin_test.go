package plugin

import (
	"testing"

	"github.com/miekg/dns"
)

func TestInZone(t *testing.T) {
	tests := []struct {
		name        string
		zone, qname string
		want        bool
	}{
		{name: "root holds everything", zone: ".", qname: "a.example.", want: true},
		{name: "apex", zone: "cluster.local.", qname: "cluster.local.", want: true},
		{name: "below", zone: "cluster.local.", qname: "web.default.svc.cluster.local.", want: true},
		{name: "other case", zone: "cluster.local.", qname: "Web.Default.SVC.Cluster.Local.", want: true},
		{name: "suffix without label boundary", zone: "cluster.local.", qname: "mycluster.local.", want: false},
		{name: "shorter than the zone", zone: "cluster.local.", qname: "local.", want: false},
		{name: "other zone", zone: "cluster.local.", qname: "example.org.", want: false},
		{name: "escaped dot is inside a label", zone: "cluster.local.", qname: `a\.cluster.local.`, want: false},
		{name: "escaped dot joins the zone's first label", zone: "local.", qname: `a.cluster\.local.`, want: false},
		{name: "escaped backslash before a dot", zone: "local.", qname: `a\\.local.`, want: true},
		{name: "reverse zone", zone: "in-addr.arpa.", qname: "1.0.96.10.in-addr.arpa.", want: true},
		{name: "not fully qualified falls back to miekg/dns", zone: "cluster.local.", qname: "web.cluster.local", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := InZone(tt.zone, tt.qname); got != tt.want {
				t.Errorf("InZone(%q, %q) = %v, want %v", tt.zone, tt.qname, got, tt.want)
			}
			if ref := dns.IsSubDomain(tt.zone, tt.qname); ref != tt.want {
				t.Errorf("dns.IsSubDomain(%q, %q) = %v: the table disagrees with miekg/dns", tt.zone, tt.qname, ref)
			}
		})
	}
}
