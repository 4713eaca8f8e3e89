package conntrack

import (
	"log/slog"
	"slices"
	"testing"

	"navarch.dev/proxy/internal/testobj"
	"navarch.dev/proxy/pkg/servicemap"
)

type recorder struct{ calls []string }

func (r *recorder) DeleteUDP(origDst, replySrc string) (uint, error) {
	r.calls = append(r.calls, origDst+">"+replySrc)
	return 1, nil
}

func snap(objs func(t *servicemap.Tracker)) servicemap.Snapshot {
	t := servicemap.NewTracker("n1")
	objs(t)
	return t.Snapshot()
}

func TestFlushStale(t *testing.T) {
	dns := testobj.UDPService("kube-system", "dns", "10.96.0.10", 53)
	two := testobj.UDPSlice("kube-system", "dns", "dns-a", map[int32]int32{53: 53}, testobj.Endpoint{IP: "10.244.1.2"}, testobj.Endpoint{IP: "10.244.1.3"})
	one := testobj.UDPSlice("kube-system", "dns", "dns-a", map[int32]int32{53: 53}, testobj.Endpoint{IP: "10.244.1.2"})
	tcp := testobj.Service("ns", "web", "10.96.0.20", []int32{80})
	tcpSlice := testobj.Slice("ns", "web", "web-a", map[int32]int32{80: 80}, testobj.Endpoint{IP: "10.244.2.2"})
	tests := []struct {
		name     string
		old, cur func(t *servicemap.Tracker)
		want     []string
	}{
		{
			name: "endpoint removed",
			old:  func(t *servicemap.Tracker) { t.OnServiceUpdate(dns); t.OnEndpointSliceUpdate(two) },
			cur:  func(t *servicemap.Tracker) { t.OnServiceUpdate(dns); t.OnEndpointSliceUpdate(one) },
			want: []string{"10.96.0.10>10.244.1.3"},
		},
		{
			name: "first endpoint",
			old:  func(t *servicemap.Tracker) { t.OnServiceUpdate(dns) },
			cur:  func(t *servicemap.Tracker) { t.OnServiceUpdate(dns); t.OnEndpointSliceUpdate(one) },
			want: []string{"10.96.0.10>"},
		},
		{
			name: "service deleted",
			old:  func(t *servicemap.Tracker) { t.OnServiceUpdate(dns); t.OnEndpointSliceUpdate(one) },
			cur:  func(t *servicemap.Tracker) {},
			want: []string{"10.96.0.10>10.244.1.2"},
		},
		{
			name: "tcp endpoint removed is left alone",
			old:  func(t *servicemap.Tracker) { t.OnServiceUpdate(tcp); t.OnEndpointSliceUpdate(tcpSlice) },
			cur:  func(t *servicemap.Tracker) { t.OnServiceUpdate(tcp) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, cur := snap(tt.old), snap(tt.cur)
			changed := map[servicemap.ServiceName]struct{}{}
			for k := range old.Services {
				changed[k] = struct{}{}
			}
			for k := range cur.Services {
				changed[k] = struct{}{}
			}
			rec := &recorder{}
			NewFlusherWith(rec, slog.Default()).FlushStale(old.Services, cur.Services, changed)
			if !slices.Equal(rec.calls, tt.want) {
				t.Errorf("deleted %v, want %v", rec.calls, tt.want)
			}
		})
	}
}
