// Package log logs every query and its answer.
package log

import (
	"context"
	"log/slog"
	"time"

	"github.com/miekg/dns"

	"navarch.dev/dns/pkg/plugin"
)

// Log logs one line per query: client, id, type, class, name, transport,
// sizes, DO bit, rcode, flags and duration.
type Log struct {
	Next plugin.Handler
	// Log is where lines go (slog.Default when nil).
	Log *slog.Logger
}

var _ plugin.Handler = (*Log)(nil)

// Name implements plugin.Handler.
func (l *Log) Name() string { return "log" }

// ServeDNS implements plugin.Handler.
func (l *Log) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	start := time.Now()
	rec := plugin.NewRecorder(w)
	rcode, err := plugin.NextOrFailure(l.Name(), l.Next, ctx, rec, r)
	rc := rcode
	flags := ""
	if rec.Msg != nil {
		rc = rec.Msg.Rcode
		flags = flagString(rec.Msg)
	}
	lg := l.Log
	if lg == nil {
		lg = slog.Default()
	}
	q := r.Question[0]
	remote := ""
	if w.RemoteAddr() != nil {
		remote = w.RemoteAddr().String()
	}
	lg.Info("query", "remote", remote, "id", r.Id, "type", dns.TypeToString[q.Qtype],
		"class", dns.ClassToString[q.Qclass], "name", q.Name, "proto", plugin.Proto(w),
		"size", r.Len(), "do", plugin.Do(r), "bufsize", plugin.Size(plugin.Proto(w), r),
		"rcode", dns.RcodeToString[rc], "rflags", flags, "rsize", rec.Len, "duration", time.Since(start))
	return rcode, err
}

func flagString(m *dns.Msg) string {
	s := ""
	for _, f := range []struct {
		on   bool
		name string
	}{{m.Response, "qr"}, {m.Authoritative, "aa"}, {m.Truncated, "tc"}, {m.RecursionDesired, "rd"}, {m.RecursionAvailable, "ra"}} {
		if f.on {
			if s != "" {
				s += ","
			}
			s += f.name
		}
	}
	return s
}
