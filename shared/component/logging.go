package component

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
)

// Log formats accepted by --log-format.
const (
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// LoggingOptions are the logging flags every daemon takes. The zero value
// logs text at verbosity 0.
type LoggingOptions struct {
	// Verbosity is --v: messages logged at klog V(n) or at slog level -n are
	// shown when n <= Verbosity. slog.LevelDebug (-4) is V(4).
	Verbosity int
	// Format is --log-format: LogFormatText (the default when empty) or
	// LogFormatJSON.
	Format string
}

// AddFlags registers -v/--v and --log-format on fs, with o's current values
// as defaults.
func (o *LoggingOptions) AddFlags(fs *pflag.FlagSet) {
	if o.Format == "" {
		o.Format = LogFormatText
	}
	fs.IntVarP(&o.Verbosity, "v", "v", o.Verbosity, "number for the log level verbosity")
	fs.StringVar(&o.Format, "log-format", o.Format, `log format: "text" or "json"`)
}

// SetupLogging installs a slog handler writing to stderr in the chosen format
// as the slog default (which also captures the standard log package), and
// routes klog — the logger of client-go and its informers, leader election
// and event recorders — into the same handler, so every line a daemon writes
// has one structured format. Call it once, early in main, before starting
// goroutines that log.
func SetupLogging(opts LoggingOptions) error {
	return setupLogging(os.Stderr, opts)
}

var (
	klogFlagsOnce sync.Once
	klogFlags     = flag.NewFlagSet("klog", flag.ContinueOnError)
)

func setupLogging(w io.Writer, opts LoggingOptions) error {
	if opts.Verbosity < 0 {
		return fmt.Errorf("component: --v must not be negative, got %d", opts.Verbosity)
	}
	handlerOpts := &slog.HandlerOptions{Level: slog.Level(-opts.Verbosity)}
	var handler slog.Handler
	switch opts.Format {
	case "", LogFormatText:
		handler = slog.NewTextHandler(w, handlerOpts)
	case LogFormatJSON:
		handler = slog.NewJSONHandler(w, handlerOpts)
	default:
		return fmt.Errorf("component: unknown --log-format %q (want %q or %q)", opts.Format, LogFormatText, LogFormatJSON)
	}
	logger := slog.New(handler)
	slog.SetDefault(logger)

	// klog checks its own -v before handing a V(n) message to the logger,
	// so its verbosity must match the handler's level.
	klogFlagsOnce.Do(func() { klog.InitFlags(klogFlags) })
	if err := klogFlags.Set("v", strconv.Itoa(opts.Verbosity)); err != nil {
		return fmt.Errorf("component: set klog verbosity: %w", err)
	}
	klog.SetSlogLogger(logger)
	return nil
}
