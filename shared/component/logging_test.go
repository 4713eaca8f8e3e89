package component

import (
	"bytes"
	"encoding/json"
	"errors"
	"log"
	"log/slog"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"
)

// restoreLogging undoes setupLogging's process-wide changes after a test.
func restoreLogging(t *testing.T) {
	old := slog.Default()
	t.Cleanup(func() {
		slog.SetDefault(old)
		klog.ClearLogger()
		klogFlags.Set("v", "0")
	})
}

// emitAll logs one line through each route a daemon's logs take.
func emitAll() {
	slog.Info("slog info", "pod", "default/web-0")
	slog.Debug("slog debug")
	klog.InfoS("klog info", "node", "worker1")
	klog.V(2).InfoS("klog v2")
	klog.V(5).InfoS("klog v5")
	klog.Infof("klog printf %d", 42)
	klog.ErrorS(errors.New("boom"), "klog error", "lease", "kube-system/scheduler")
	klog.Background().V(2).Info("klog contextual v2")
	log.Print("std log")
}

func TestSetupLoggingJSON(t *testing.T) {
	tests := []struct {
		name      string
		verbosity int
		want      []string // messages, in order
	}{
		{
			name:      "default verbosity",
			verbosity: 0,
			want:      []string{"slog info", "klog info", "klog printf 42", "klog error", "std log"},
		},
		{
			name:      "v2",
			verbosity: 2,
			want:      []string{"slog info", "klog info", "klog v2", "klog printf 42", "klog error", "klog contextual v2", "std log"},
		},
		{
			name:      "v5 includes debug",
			verbosity: 5,
			want:      []string{"slog info", "slog debug", "klog info", "klog v2", "klog v5", "klog printf 42", "klog error", "klog contextual v2", "std log"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restoreLogging(t)
			var buf bytes.Buffer
			if err := setupLogging(&buf, LoggingOptions{Verbosity: tt.verbosity, Format: LogFormatJSON}); err != nil {
				t.Fatalf("setupLogging: %v", err)
			}
			emitAll()

			var msgs []string
			records := map[string]map[string]any{}
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("line is not JSON: %q: %v", line, err)
				}
				msg, _ := rec["msg"].(string)
				msgs = append(msgs, msg)
				records[msg] = rec
			}
			if strings.Join(msgs, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("messages\n%q\nwant\n%q", msgs, tt.want)
			}
			if got := records["klog info"]["node"]; got != "worker1" {
				t.Errorf("klog key/value node = %v, want worker1", got)
			}
			if got := records["slog info"]["pod"]; got != "default/web-0" {
				t.Errorf("slog key/value pod = %v, want default/web-0", got)
			}
			errRec := records["klog error"]
			if errRec["level"] != "ERROR" || errRec["err"] != "boom" || errRec["lease"] != "kube-system/scheduler" {
				t.Errorf("klog error record = %v, want level ERROR, err boom, lease kube-system/scheduler", errRec)
			}
		})
	}
}

func TestSetupLoggingText(t *testing.T) {
	restoreLogging(t)
	var buf bytes.Buffer
	if err := setupLogging(&buf, LoggingOptions{}); err != nil {
		t.Fatalf("setupLogging: %v", err)
	}
	klog.InfoS("started", "node", "worker1")
	out := buf.String()
	for _, want := range []string{"level=INFO", "msg=started", "node=worker1"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output %q lacks %q", out, want)
		}
	}
}

func TestSetupLoggingRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    LoggingOptions
		wantErr string
	}{
		{name: "unknown format", opts: LoggingOptions{Format: "xml"}, wantErr: `unknown --log-format "xml"`},
		{name: "negative verbosity", opts: LoggingOptions{Verbosity: -1}, wantErr: "--v must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restoreLogging(t)
			err := setupLogging(&bytes.Buffer{}, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("setupLogging error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoggingFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want LoggingOptions
	}{
		{name: "defaults", args: nil, want: LoggingOptions{Verbosity: 0, Format: "text"}},
		{name: "long flags", args: []string{"--v=4", "--log-format=json"}, want: LoggingOptions{Verbosity: 4, Format: "json"}},
		{name: "short v", args: []string{"-v", "3"}, want: LoggingOptions{Verbosity: 3, Format: "text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts LoggingOptions
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			opts.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if opts != tt.want {
				t.Errorf("options = %+v, want %+v", opts, tt.want)
			}
		})
	}
}
