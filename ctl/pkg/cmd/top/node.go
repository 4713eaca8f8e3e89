package top

import (
	"context"
	"errors"
	"sort"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
)

type nodeOptions struct {
	selector     string
	sortBy       string
	noHeaders    bool
	showCapacity bool
	protobuf     bool
}

func newNodeCommand(f *factory.Factory) *cobra.Command {
	o := &nodeOptions{protobuf: true}
	cmd := &cobra.Command{
		Use:                   "node [NAME | -l label]",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"nodes", "no"},
		Short:                 "Display resource (CPU/memory) usage of nodes",
		Long: `Display resource (CPU/memory) usage of nodes.

The top-node command allows you to see the resource consumption of nodes.`,
		Example: `  # Show metrics for all nodes
  navctl top node

  # Show metrics for a given node
  navctl top node NODE_NAME`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return cli.CmdUsagef(cmd.CommandPath(), "%s", cmd.Use)
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return o.run(cmd.Context(), f, cmd, name)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	fs.StringVar(&o.sortBy, "sort-by", "", "If non-empty, sort nodes list using specified field. The field can be either 'cpu' or 'memory'.")
	fs.BoolVar(&o.noHeaders, "no-headers", false, "If present, print output without headers")
	fs.BoolVar(&o.protobuf, "use-protocol-buffers", true, "Enables using protocol-buffers to access Metrics API.")
	fs.BoolVar(&o.showCapacity, "show-capacity", false, "Print node resources based on Capacity instead of Allocatable(default) of the nodes.")
	return cmd
}

func (o *nodeOptions) run(ctx context.Context, f *factory.Factory, cmd *cobra.Command, name string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	sel, err := parseArgs(o.sortBy, name, o.selector, "only one of NAME or --selector can be provided")
	if err != nil {
		return err
	}
	mc, err := metricsClient(f)
	if err != nil {
		return err
	}
	cs, err := f.Clientset()
	if err != nil {
		return err
	}
	var metrics []metricsv1beta1.NodeMetrics
	var nodes []corev1.Node
	if name != "" {
		m, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		metrics = []metricsv1beta1.NodeMetrics{*m}
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		nodes = []corev1.Node{*n}
	} else {
		ml, err := mc.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return err
		}
		metrics = ml.Items
		nl, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return err
		}
		nodes = nl.Items
	}
	if len(metrics) == 0 {
		return errors.New("metrics not available yet")
	}
	available := map[string]corev1.ResourceList{}
	for _, n := range nodes {
		if o.showCapacity {
			available[n.Name] = n.Status.Capacity
		} else {
			available[n.Name] = n.Status.Allocatable
		}
	}
	sortByUsage(len(metrics), o.sortBy,
		func(i int) corev1.ResourceList { return metrics[i].Usage },
		func(i, j int) bool { return metrics[i].Name < metrics[j].Name },
		func(i, j int) { metrics[i], metrics[j] = metrics[j], metrics[i] })

	w := newTabWriter(cmd.OutOrStdout())
	defer w.Flush()
	if !o.noHeaders {
		printCells(w, "NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)")
		w.Write([]byte("\n"))
	}
	for _, m := range metrics {
		printCells(w, m.Name)
		avail, known := available[m.Name]
		for _, r := range measured {
			printCells(w, usage(r, m.Usage[r]))
			if a, ok := avail[r]; known && ok {
				printCells(w, percent(m.Usage[r], a))
			}
		}
		w.Write([]byte("\n"))
		delete(available, m.Name)
	}
	// Nodes the metrics API has nothing for.
	var missing []string
	for n := range available {
		missing = append(missing, n)
	}
	sort.Strings(missing)
	for _, n := range missing {
		printCells(w, n)
		for range measured {
			printCells(w, "<unknown>", "<unknown>")
		}
		w.Write([]byte("\n"))
	}
	return nil
}
