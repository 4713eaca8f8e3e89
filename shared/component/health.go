package component

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// shutdownTimeout bounds the graceful shutdown of the health server; requests
// still running after it (a CPU profile, say) are cut off.
const shutdownTimeout = 5 * time.Second

// pingCheck is always present and always passes, as upstream's "ping" check:
// it shows the server answers even when no other check is registered.
const pingCheck = "ping"

// ServeHealth listens on addr (e.g. "0.0.0.0:10251") and serves Handler
// until ctx is done; see Serve.
func ServeHealth(ctx context.Context, addr string, checks map[string]func() error, reg *prometheus.Registry) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("component: health server: %w", err)
	}
	return Serve(ctx, ln, checks, reg)
}

// Serve serves Handler(checks, reg) on ln, which it takes over and closes.
// When ctx is done it shuts the server down gracefully (cutting off requests
// still running after a few seconds) and returns nil; it returns an error
// only if serving fails.
func Serve(ctx context.Context, ln net.Listener, checks map[string]func() error, reg *prometheus.Registry) error {
	srv := &http.Server{
		Handler:           Handler(checks, reg),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("component: health server on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
	}
	<-errc // http.ErrServerClosed
	return nil
}

// Handler returns the HTTP handler of a daemon's health port:
//
//   - /healthz, /livez, /readyz run every check (plus "ping") and answer 200
//     "ok" when all pass. When one fails they answer 500 with one line per
//     check, "[+]name ok" or "[-]name failed: reason withheld", and a last
//     line "<endpoint> check failed"; errors are logged, not served. With
//     ?verbose they list the checks on success too, ending "<endpoint> check
//     passed". ?exclude=name (repeatable) skips a check.
//   - /healthz/<name> (and /livez/<name>, /readyz/<name>) runs one check:
//     200 "ok", or 500 with the error.
//   - /metrics serves reg together with Go runtime and process metrics; reg
//     must not register those collectors itself, and may be nil.
//   - /debug/pprof/ serves net/http/pprof.
//
// Checks run on every request, one after another, so they should be cheap
// and must not block; a nil check always fails. The checks map is copied.
func Handler(checks map[string]func() error, reg *prometheus.Registry) http.Handler {
	named := []namedCheck{{name: pingCheck, check: func() error { return nil }}}
	for _, name := range sortedKeys(checks) {
		if name == pingCheck {
			named[0].check = checks[name]
			continue
		}
		named = append(named, namedCheck{name: name, check: checks[name]})
	}
	for i := range named {
		if named[i].check == nil {
			named[i].check = func() error { return errors.New("no check function registered") }
		}
	}

	mux := http.NewServeMux()
	for _, endpoint := range []string{"healthz", "livez", "readyz"} {
		mux.Handle("/"+endpoint, rootHealthHandler(endpoint, named))
		for _, c := range named {
			mux.Handle("/"+endpoint+"/"+c.name, checkHandler(c))
		}
	}

	runtimeMetrics := prometheus.NewRegistry()
	runtimeMetrics.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	gatherers := prometheus.Gatherers{runtimeMetrics}
	if reg != nil {
		gatherers = append(gatherers, reg)
	}
	mux.Handle("/metrics", promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelError),
	}))

	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

type namedCheck struct {
	name  string
	check func() error
}

func rootHealthHandler(endpoint string, checks []namedCheck) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query := r.URL.Query()
		excluded := map[string]bool{}
		for _, name := range query["exclude"] {
			excluded[name] = true
		}
		var (
			out    bytes.Buffer
			failed []string
		)
		for _, c := range checks {
			if excluded[c.name] {
				delete(excluded, c.name)
				fmt.Fprintf(&out, "[+]%s excluded: ok\n", c.name)
				continue
			}
			if err := c.check(); err != nil {
				// The reason may reveal internals to an unauthenticated
				// caller: serve the name, log the error.
				fmt.Fprintf(&out, "[-]%s failed: reason withheld\n", c.name)
				slog.Warn("Health check failed", "endpoint", "/"+endpoint, "check", c.name, "err", err)
				failed = append(failed, c.name)
				continue
			}
			fmt.Fprintf(&out, "[+]%s ok\n", c.name)
		}
		if len(excluded) > 0 {
			fmt.Fprintf(&out, "warn: some health checks cannot be excluded: no matches for %s\n", strings.Join(sortedKeys(excluded), ","))
		}

		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if len(failed) > 0 {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(&out, "%s check failed\n", endpoint)
			out.WriteTo(w)
			return
		}
		if _, verbose := query["verbose"]; !verbose {
			fmt.Fprint(w, "ok")
			return
		}
		fmt.Fprintf(&out, "%s check passed\n", endpoint)
		out.WriteTo(w)
	})
}

func checkHandler(c namedCheck) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := c.check(); err != nil {
			http.Error(w, fmt.Sprintf("internal server error: %v", err), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fmt.Fprint(w, "ok")
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
