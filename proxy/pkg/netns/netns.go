// Package netns runs code inside a network namespace. The proxy normally
// runs in the node's namespace and never needs it; tests and benchmarks use
// it to program a namespace they created.
package netns

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// Do runs fn on a thread that has entered the namespace at path (such as
// /var/run/netns/<name>); an empty path runs fn as is. Processes started by
// fn and sockets it opens belong to that namespace.
func Do(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	target, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("netns: open %s: %w", path, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	// A fresh goroutine whose thread is thrown away afterwards: if restoring
	// the original namespace failed, no other goroutine may inherit it.
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns: enter %s: %w", path, err)
			return
		}
		// Leaving the thread locked when the goroutine exits makes the
		// runtime terminate it instead of reusing it.
		errc <- fn()
	}()
	return <-errc
}
