package exec

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"navarch.dev/ctl/pkg/cli"
)

// StreamOptions are the streams of an exec or attach session.
type StreamOptions struct {
	Stdin bool // send our stdin to the container
	TTY   bool // ask for a terminal (only honoured when stdin is a terminal)
	Quiet bool // no notes on stderr
	IO    cli.IOStreams
}

// Terminal works out whether the session gets a terminal: it needs -i and
// -t and a real terminal on our stdin; otherwise kubectl's note is printed
// and the session goes on without one.
func (o *StreamOptions) Terminal() bool {
	if !o.Stdin || !o.TTY {
		o.TTY = false
		return false
	}
	f, ok := o.IO.In.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		o.TTY = false
		if !o.Quiet {
			fmt.Fprintln(o.IO.ErrOut, "Unable to use a TTY - input is not a terminal or the right kind of file")
		}
		return false
	}
	return true
}

// Stream runs a session on an exec or attach URL: WebSocket first, SPDY if
// the server cannot upgrade to WebSockets, as kubectl does. With a terminal,
// stdin is put in raw mode for the session and window size changes are
// forwarded. A remote command's non-zero exit becomes the same exit code.
func Stream(ctx context.Context, config *rest.Config, u *url.URL, o StreamOptions) error {
	spdyExec, err := remotecommand.NewSPDYExecutor(config, "POST", u)
	if err != nil {
		return err
	}
	wsExec, err := remotecommand.NewWebSocketExecutor(config, "GET", u.String())
	if err != nil {
		return err
	}
	executor, err := remotecommand.NewFallbackExecutor(wsExec, spdyExec, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	opts := remotecommand.StreamOptions{Stdout: o.IO.Out, Stderr: o.IO.ErrOut, Tty: o.TTY}
	if o.Stdin {
		opts.Stdin = o.IO.In
	}
	if o.TTY {
		// A terminal carries stderr on stdout.
		opts.Stderr = nil
		f := o.IO.In.(*os.File)
		state, err := term.MakeRaw(int(f.Fd()))
		if err != nil {
			return err
		}
		defer term.Restore(int(f.Fd()), state)
		sizes := newSizeQueue(ctx, int(f.Fd()))
		defer sizes.stop()
		opts.TerminalSizeQueue = sizes
	}
	err = executor.StreamWithContext(ctx, opts)
	var exit utilexec.CodeExitError
	if errors.As(err, &exit) {
		fmt.Fprintln(o.IO.ErrOut, exit.Error())
		return &cli.ExitError{Code: exit.Code}
	}
	return err
}

// sizeQueue reports the terminal's size at the start and after each SIGWINCH.
type sizeQueue struct {
	fd      int
	sizes   chan remotecommand.TerminalSize
	signals chan os.Signal
	done    chan struct{}
}

func newSizeQueue(ctx context.Context, fd int) *sizeQueue {
	q := &sizeQueue{fd: fd, sizes: make(chan remotecommand.TerminalSize, 1), signals: make(chan os.Signal, 1), done: make(chan struct{})}
	signal.Notify(q.signals, syscall.SIGWINCH)
	q.push()
	go func() {
		for {
			select {
			case <-q.signals:
				q.push()
			case <-ctx.Done():
				return
			case <-q.done:
				return
			}
		}
	}()
	return q
}

func (q *sizeQueue) push() {
	w, h, err := term.GetSize(q.fd)
	if err != nil {
		return
	}
	select {
	case q.sizes <- remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}:
	default:
	}
}

// Next blocks until the size changes; nil ends the session's resizing.
func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	select {
	case s := <-q.sizes:
		return &s
	case <-q.done:
		return nil
	}
}

func (q *sizeQueue) stop() {
	signal.Stop(q.signals)
	close(q.done)
}
