package component

import (
	"os"
	"syscall"
	"testing"
)

func TestNotifyContext(t *testing.T) {
	tests := []struct {
		name string
		sig  syscall.Signal
	}{
		{name: "SIGTERM", sig: syscall.SIGTERM},
		{name: "SIGINT", sig: syscall.SIGINT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exited := make(chan int, 1)
			ctx, stop := notifyContext(func(code int) { exited <- code })
			defer stop()

			if err := ctx.Err(); err != nil {
				t.Fatalf("context done before any signal: %v", err)
			}
			if err := syscall.Kill(os.Getpid(), tt.sig); err != nil {
				t.Fatal(err)
			}
			<-ctx.Done()
			select {
			case code := <-exited:
				t.Fatalf("first signal exited with %d, want graceful shutdown", code)
			default:
			}

			// The second signal is sent only after the first was handled:
			// pending signals of one kind would merge into one.
			if err := syscall.Kill(os.Getpid(), tt.sig); err != nil {
				t.Fatal(err)
			}
			if code := <-exited; code != 1 {
				t.Errorf("second signal exited with %d, want 1", code)
			}
		})
	}
}
