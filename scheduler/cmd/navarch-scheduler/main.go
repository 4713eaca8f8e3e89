// Command navarch-scheduler binds pending pods to nodes.
package main

import (
	"os"

	"navarch.dev/scheduler/pkg/app"
)

func main() {
	if err := app.NewCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
