// Command navctl is the kubectl-compatible command line of Navarch.
package main

import (
	"os"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/cmd/root"
)

func main() {
	io := cli.StdStreams()
	err := root.NewCommand(io).Execute()
	os.Exit(cli.Report(io.ErrOut, err))
}
