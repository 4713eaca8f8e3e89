// Package top is navctl top node|pod: resource (CPU and memory) usage from
// the metrics.k8s.io API, printed as kubectl top prints it.
package top

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"navarch.dev/ctl/pkg/factory"
)

// NewCommand returns navctl top with its node and pod subcommands.
func NewCommand(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "top",
		DisableFlagsInUseLine: true,
		Short:                 "Display resource (CPU/memory) usage",
		Long: `Display resource (CPU/memory) usage.

The top command allows you to see the resource consumption for nodes or pods.

This command requires the metrics.k8s.io API (served by the Navarch apiserver from the kubelets' summaries).`,
		Run: func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
	}
	cmd.AddCommand(newNodeCommand(f), newPodCommand(f))
	return cmd
}

var measured = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}

// metricsClient is a metrics.k8s.io client, once discovery shows the
// server serves metrics.k8s.io/v1beta1.
func metricsClient(f *factory.Factory) (metricsclient.Interface, error) {
	d, err := f.Discovery()
	if err != nil {
		return nil, err
	}
	groups, err := d.ServerGroups()
	if err != nil {
		return nil, err
	}
	served := false
	for _, g := range groups.Groups {
		for _, v := range g.Versions {
			served = served || (g.Name == metricsv1beta1.GroupName && v.Version == "v1beta1")
		}
	}
	if !served {
		return nil, errors.New("Metrics API not available")
	}
	cfg, err := f.RESTConfig()
	if err != nil {
		return nil, err
	}
	return metricsclient.NewForConfig(cfg)
}

// parseArgs checks --sort-by and that NAME and -l are not both given (with
// kubectl's message both), and parses the label selector.
func parseArgs(sortBy, name, selector, both string) (labels.Selector, error) {
	if sortBy != "" && sortBy != "cpu" && sortBy != "memory" {
		return nil, errors.New("--sort-by accepts only cpu or memory")
	}
	if name != "" && selector != "" {
		return nil, errors.New(both)
	}
	return labels.Parse(selector)
}

// newTabWriter aligns columns as kubectl's printers do.
func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 10, 4, 3, ' ', 0)
}

func printCells(w io.Writer, cells ...string) {
	for _, c := range cells {
		fmt.Fprintf(w, "%s\t", c)
	}
}

// usage formats one resource as kubectl top: millicores, or whole Mi.
func usage(name corev1.ResourceName, q resource.Quantity) string {
	switch name {
	case corev1.ResourceCPU:
		return fmt.Sprintf("%vm", q.MilliValue())
	case corev1.ResourceMemory:
		return fmt.Sprintf("%vMi", q.Value()/(1024*1024))
	}
	return fmt.Sprint(q.Value())
}

// percent is used/available as a whole percentage.
func percent(used, available resource.Quantity) string {
	fraction := 0.0
	if !available.IsZero() {
		fraction = float64(used.MilliValue()) / float64(available.MilliValue()) * 100
	}
	return fmt.Sprintf("%d%%", int64(fraction))
}

// sortByUsage orders n items by usage (largest first) of the named
// resource, or by less when sortBy is empty.
func sortByUsage(n int, sortBy string, list func(i int) corev1.ResourceList, less func(i, j int) bool, swap func(i, j int)) {
	sort.Sort(sorter{n: n, swap: swap, less: func(i, j int) bool {
		switch sortBy {
		case "cpu":
			a, b := list(i)[corev1.ResourceCPU], list(j)[corev1.ResourceCPU]
			return a.MilliValue() > b.MilliValue()
		case "memory":
			a, b := list(i)[corev1.ResourceMemory], list(j)[corev1.ResourceMemory]
			return a.Value() > b.Value()
		}
		return less(i, j)
	}})
}

type sorter struct {
	n    int
	less func(i, j int) bool
	swap func(i, j int)
}

func (s sorter) Len() int           { return s.n }
func (s sorter) Less(i, j int) bool { return s.less(i, j) }
func (s sorter) Swap(i, j int)      { s.swap(i, j) }
