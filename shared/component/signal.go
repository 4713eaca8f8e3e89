package component

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

var (
	signalOnce sync.Once
	signalCtx  context.Context
)

// SignalContext returns a context that is cancelled on the first SIGINT or
// SIGTERM, so the daemon can shut down gracefully. A second signal exits the
// process at once with status 1, as upstream components do. Every call
// returns the same context.
func SignalContext() context.Context {
	signalOnce.Do(func() {
		signalCtx, _ = notifyContext(os.Exit)
	})
	return signalCtx
}

// notifyContext is SignalContext with the process exit replaced by exit; stop
// unregisters the handler and cancels the context.
func notifyContext(exit func(code int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			slog.Info("Received signal, shutting down; send it again to exit immediately", "signal", sig.String())
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-ch:
			slog.Info("Received second signal, exiting", "signal", sig.String())
			exit(1)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel()
		})
	}
}
