// Package component is the base every Navarch daemon builds on: logging
// flags and slog setup (with client-go's klog routed into slog), a context
// cancelled by SIGINT/SIGTERM, and the HTTP server for /healthz, /livez,
// /readyz, /metrics and /debug/pprof/.
//
// A daemon's main typically does:
//
//	var logOpts component.LoggingOptions
//	logOpts.AddFlags(pflag.CommandLine)
//	pflag.Parse()
//	if err := component.SetupLogging(logOpts); err != nil { ... }
//	ctx := component.SignalContext()
//	healthErr := make(chan error, 1)
//	go func() { healthErr <- component.ServeHealth(ctx, ":10251", checks, registry) }()
package component
