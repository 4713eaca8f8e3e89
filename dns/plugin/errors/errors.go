// Package errors logs the errors the rest of the chain returns.
package errors

import (
	"context"
	"log/slog"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// Errors logs the error of every query whose handling failed.
type Errors struct {
	Next plugin.Handler
	// Log is where errors go (slog.Default when nil).
	Log *slog.Logger
}

var _ plugin.Handler = (*Errors)(nil)

// Name implements plugin.Handler.
func (e *Errors) Name() string { return "errors" }

// ServeDNS implements plugin.Handler.
func (e *Errors) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	rcode, err := plugin.NextOrFailure(e.Name(), e.Next, ctx, w, r)
	if err != nil {
		l := e.Log
		if l == nil {
			l = slog.Default()
		}
		q := r.Question[0]
		l.Error("Query failed", "rcode", dns.RcodeToString[rcode], "name", q.Name, "type", dns.TypeToString[q.Qtype], "err", err)
	}
	return rcode, err
}
