// Package drain is `navctl cordon`, `uncordon` and `drain`: marking nodes
// (un)schedulable and evicting their pods before maintenance, with kubectl's
// rules for which pods may go.
package drain

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
)

// nodeFlags are what cordon, uncordon and drain share: which nodes, and
// whether to change anything.
type nodeFlags struct {
	selector string
	dryRun   string
}

func (o *nodeFlags) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	cli.AddDryRunFlag(cmd.Flags(), &o.dryRun)
}

// nodes resolves the NODE arguments or --selector to nodes, as they are now.
func (o *nodeFlags) nodes(ctx context.Context, cmd *cobra.Command, client kubernetes.Interface, args []string) ([]corev1.Node, error) {
	if len(args) == 0 && !cmd.Flags().Changed("selector") {
		return nil, cli.CmdUsagef(cmd.CommandPath(), "USAGE: %s [flags]", cmd.Use)
	}
	if len(args) > 0 && o.selector != "" {
		return nil, cli.CmdUsagef(cmd.CommandPath(), "error: cannot specify both a node name and a --selector option")
	}
	if o.selector != "" {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: o.selector})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}
	var nodes []corev1.Node
	for _, name := range args {
		n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, *n)
	}
	return nodes, nil
}

// setUnschedulable cordons (true) or uncordons (false) each node, printing
// "node/x cordoned" or "node/x already cordoned". A node that cannot be
// changed is reported and skipped, as kubectl does.
func setUnschedulable(ctx context.Context, client kubernetes.Interface, io cli.IOStreams, nodes []corev1.Node, desired bool, dryRun string) {
	verb := "cordon"
	if !desired {
		verb = "uncordon"
	}
	for _, n := range nodes {
		if n.Spec.Unschedulable == desired {
			printNode(io.Out, n.Name, "already "+verb+"ed", dryRun)
			continue
		}
		if dryRun != cli.DryRunClient {
			// unschedulable is omitted when false: null removes it.
			patch := []byte(`{"spec":{"unschedulable":null}}`)
			if desired {
				patch = []byte(`{"spec":{"unschedulable":true}}`)
			}
			opts := metav1.PatchOptions{}
			if dryRun == cli.DryRunServer {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			if _, err := client.CoreV1().Nodes().Patch(ctx, n.Name, types.StrategicMergePatchType, patch, opts); err != nil {
				fmt.Fprintf(io.ErrOut, "error: unable to %s node %q: %v\n", verb, n.Name, err)
				continue
			}
		}
		printNode(io.Out, n.Name, verb+"ed", dryRun)
	}
}

// printNode prints "node/<name> <operation>", marked for dry runs.
func printNode(w io.Writer, name, operation, dryRun string) {
	switch dryRun {
	case cli.DryRunClient:
		operation += " (dry run)"
	case cli.DryRunServer:
		operation += " (server dry run)"
	}
	fmt.Fprintf(w, "node/%s %s\n", name, operation)
}

// NewCordonCommand returns `navctl cordon`.
func NewCordonCommand(f *factory.Factory) *cobra.Command {
	return newCordonCommand(f, true)
}

// NewUncordonCommand returns `navctl uncordon`.
func NewUncordonCommand(f *factory.Factory) *cobra.Command {
	return newCordonCommand(f, false)
}

func newCordonCommand(f *factory.Factory, desired bool) *cobra.Command {
	o := &nodeFlags{}
	cmd := &cobra.Command{
		Use:                   "cordon NODE",
		DisableFlagsInUseLine: true,
		Short:                 "Mark node as unschedulable",
		Long:                  "Mark node as unschedulable.",
		Example: `  # Mark node "foo" as unschedulable
  navctl cordon foo`,
	}
	if !desired {
		cmd.Use = "uncordon NODE"
		cmd.Short = "Mark node as schedulable"
		cmd.Long = "Mark node as schedulable."
		cmd.Example = `  # Mark node "foo" as schedulable
  navctl uncordon foo`
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		dryRun, err := cli.DryRunStrategy(o.dryRun)
		if err != nil {
			return err
		}
		client, err := f.Clientset()
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		nodes, err := o.nodes(ctx, cmd, client, args)
		if err != nil {
			return err
		}
		setUnschedulable(ctx, client, f.IO, nodes, desired, dryRun)
		return nil
	}
	o.addFlags(cmd)
	return cmd
}
