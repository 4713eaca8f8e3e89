// Package upgradeproxy relays an HTTP request that may switch protocols
// (SPDY or WebSocket, as exec, attach and port-forward do) over a
// connection the caller has already opened to the backend.
package upgradeproxy

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// Relay writes out, a request addressed to the backend (URL and Host set,
// RequestURI empty), to backend and relays the answer to w: a 101 Switching
// Protocols hijacks the client connection and copies bytes both ways until
// either side closes; any other answer is copied as it is. It returns an
// error only when nothing has been written to w yet (writing the request or
// reading the answer failed), for the caller to report in its own way. The
// caller closes backend.
func Relay(w http.ResponseWriter, out *http.Request, backend net.Conn) error {
	if err := out.Write(backend); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	br := bufio.NewReader(backend)
	resp, err := http.ReadResponse(br, out)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		return nil
	}
	client, cbuf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		slog.Error("hijack for upgrade", "err", err)
		return nil
	}
	defer client.Close()
	fmt.Fprintf(cbuf, "HTTP/1.1 101 Switching Protocols\r\n")
	resp.Header.Write(cbuf)
	cbuf.WriteString("\r\n")
	if err := cbuf.Flush(); err != nil {
		return nil
	}
	splice(client, cbuf.Reader, backend, br)
	return nil
}

// splice copies a→b and b→a (each side read through its buffered reader)
// until either direction ends, then closes both.
func splice(a net.Conn, ar io.Reader, b net.Conn, br io.Reader) {
	var once sync.Once
	closeBoth := func() { once.Do(func() { a.Close(); b.Close() }) }
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		io.Copy(b, ar)
		// Half-close so the other side sees EOF while its answer still
		// flows back.
		if cw, ok := b.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}()
	go func() {
		defer wg.Done()
		io.Copy(a, br)
		closeBoth()
	}()
	wg.Wait()
	closeBoth()
}
