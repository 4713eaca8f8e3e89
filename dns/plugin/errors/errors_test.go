package errors

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

func TestErrorsLogs(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantLog string
	}{
		{name: "failure logged", err: errors.New("upstream timed out"), wantLog: "upstream timed out"},
		{name: "success silent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := &Errors{
				Log: slog.New(slog.NewTextHandler(&buf, nil)),
				Next: plugin.HandlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) {
					if tt.err != nil {
						return dns.RcodeServerFailure, tt.err
					}
					return dns.RcodeSuccess, nil
				}),
			}
			r := new(dns.Msg).SetQuestion("example.org.", dns.TypeA)
			_, err := e.ServeDNS(context.Background(), nil, r)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.wantLog == "" && buf.Len() > 0 || !strings.Contains(buf.String(), tt.wantLog) {
				t.Errorf("log = %q, want %q", buf.String(), tt.wantLog)
			}
		})
	}
}
