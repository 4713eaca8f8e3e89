package loop

import (
	"context"
	"testing"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

func TestLoop(t *testing.T) {
	tests := []struct {
		name     string
		queries  []string
		disabled bool
		wantLoop bool
	}{
		{name: "probe seen once", queries: []string{"1.2.example."}},
		{name: "probe seen three times", queries: []string{"1.2.example.", "1.2.example.", "1.2.example."}, wantLoop: true},
		{name: "other names ignored", queries: []string{"x.example.", "x.example.", "x.example."}},
		{name: "disabled after probing", queries: []string{"1.2.example.", "1.2.example.", "1.2.example."}, disabled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got error
			l := &Loop{Qname: "1.2.example.", OnLoop: func(err error) { got = err },
				Next: plugin.HandlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) { return 0, nil })}
			if tt.disabled {
				l.Disable()
			}
			for _, q := range tt.queries {
				l.ServeDNS(context.Background(), nil, new(dns.Msg).SetQuestion(q, dns.TypeHINFO))
			}
			if (got != nil) != tt.wantLoop {
				t.Errorf("loop reported = %v, want %v", got, tt.wantLoop)
			}
		})
	}
}
