// Command kubectl is the upstream kubectl, built from k8s.io/kubectl so that
// the e2e tests can drive Navarch with the real client, as a browser test
// drives a browser. It is never part of a Navarch binary.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		cmdutil.CheckErr(err)
	}
}
