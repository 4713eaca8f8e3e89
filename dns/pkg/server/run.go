package server

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var reloadFailed = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: "coredns", Subsystem: "reload", Name: "failed_total",
	Help: "Counter of the number of failed reload attempts.",
})

// Run serves opts until ctx is done (returning nil) or a plugin reports a
// fatal error (returning it). With the reload plugin it polls
// opts.CorefilePath and switches to a changed configuration once it loads;
// a configuration that does not load or start is logged and the old one
// kept. The switch drops no query: the DNS sockets stay open and each
// address swaps its handler chain atomically; the old chains finish the
// queries they hold before their plugins shut down, and kubernetes plugins
// with an unchanged API configuration take over the old one's synced index.
func Run(ctx context.Context, opts Options) error {
	in, err := Load(opts)
	if err != nil {
		return err
	}
	if err := in.Start(); err != nil {
		return err
	}
	ls := newListeners()
	defer ls.closeAll()
	if _, err := ls.serve(in); err != nil {
		in.Stop()
		return err
	}
	if ready := opts.started; ready != nil {
		ready(in)
	}
	for {
		var tick <-chan time.Time
		if in.reload > 0 && opts.CorefilePath != "" {
			tick = time.After(in.reload)
		}
		select {
		case <-ctx.Done():
			ls.closeAll()
			return in.Stop()
		case err := <-in.fatal:
			ls.closeAll()
			in.Stop()
			return err
		case err := <-ls.fatal:
			ls.closeAll()
			in.Stop()
			return err
		case <-tick:
			src, err := os.ReadFile(opts.CorefilePath)
			if err != nil {
				slog.Error("Reload: read Corefile", "file", opts.CorefilePath, "err", err)
				continue
			}
			if bytes.Equal(src, opts.Corefile) {
				continue
			}
			next := opts
			next.Corefile = src
			n, err := Load(next)
			if err != nil {
				reloadFailed.Inc()
				slog.Error("Reload: new Corefile does not load; keeping the running one", "err", err)
				opts.Corefile = src // do not retry the same broken file
				continue
			}
			if err := n.Start(); err != nil {
				reloadFailed.Inc()
				slog.Error("Reload: new Corefile does not start; keeping the running one", "err", err)
				opts.Corefile = src
				continue
			}
			old, err := ls.serve(n)
			if err != nil {
				n.Stop()
				reloadFailed.Inc()
				slog.Error("Reload: new Corefile does not listen; keeping the running one", "err", err)
				opts.Corefile = src
				continue
			}
			drain(old, 5*time.Second)
			in.Stop()
			slog.Info("Reloaded Corefile", "file", opts.CorefilePath)
			opts = next
			in = n
			if ready := opts.started; ready != nil {
				ready(in)
			}
		}
	}
}
