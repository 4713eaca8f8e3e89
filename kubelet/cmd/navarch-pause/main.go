// Command navarch-pause is the process of a pod sandbox's infra container: it
// holds the pod's namespaces open, reaps orphaned children (it is PID 1 in a
// shared PID namespace) and exits cleanly on SIGTERM or SIGINT.
//
// It is built statically (CGO_ENABLED=0) and packaged as the local sandbox
// image registry.navarch.local/pause:3.10 by hack/node-setup.sh.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Println("navarch-pause 3.10")
		return
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		switch s {
		case syscall.SIGCHLD:
			reap()
		default:
			os.Exit(0)
		}
	}
}

// reap collects every exited child without blocking.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
