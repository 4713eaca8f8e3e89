package top

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
)

// metricsCreationDelay is how long a new pod may go without metrics before
// their absence is an error.
const metricsCreationDelay = 2 * time.Minute

type podOptions struct {
	selector      string
	fieldSelector string
	sortBy        string
	containers    bool
	allNamespaces bool
	noHeaders     bool
	sum           bool
	protobuf      bool
}

func newPodCommand(f *factory.Factory) *cobra.Command {
	o := &podOptions{protobuf: true}
	cmd := &cobra.Command{
		Use:                   "pod [NAME | -l label]",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"pods", "po"},
		Short:                 "Display resource (CPU/memory) usage of pods",
		Long: `Display resource (CPU/memory) usage of pods.

The 'top pod' command allows you to see the resource consumption of pods.

Due to the metrics pipeline delay, they may be unavailable for a few minutes
since pod creation.`,
		Example: `  # Show metrics for all pods in the default namespace
  navctl top pod

  # Show metrics for all pods in the given namespace
  navctl top pod --namespace=NAMESPACE

  # Show metrics for a given pod and its containers
  navctl top pod POD_NAME --containers

  # Show metrics for the pods defined by label name=myLabel
  navctl top pod -l name=myLabel`,
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
	fs.StringVar(&o.fieldSelector, "field-selector", "", "Selector (field query) to filter on, supports '=', '==', and '!='.(e.g. --field-selector key1=value1,key2=value2). The server only supports a limited number of field queries per type.")
	fs.StringVar(&o.sortBy, "sort-by", "", "If non-empty, sort pods list using specified field. The field can be either 'cpu' or 'memory'.")
	fs.BoolVar(&o.containers, "containers", false, "If present, print usage of containers within a pod.")
	fs.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	fs.BoolVar(&o.noHeaders, "no-headers", false, "If present, print output without headers.")
	fs.BoolVar(&o.protobuf, "use-protocol-buffers", true, "Enables using protocol-buffers to access Metrics API.")
	fs.BoolVar(&o.sum, "sum", false, "Print the sum of the resource usage")
	return cmd
}

func (o *podOptions) run(ctx context.Context, f *factory.Factory, cmd *cobra.Command, name string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	sel, err := parseArgs(o.sortBy, name, o.selector, "only one of NAME or selector can be provided")
	if err != nil {
		return err
	}
	fsel, err := fields.ParseSelector(o.fieldSelector)
	if err != nil {
		return err
	}
	ns, _, err := f.Namespace()
	if err != nil {
		return err
	}
	mc, err := metricsClient(f)
	if err != nil {
		return err
	}
	listNS := ns
	if o.allNamespaces {
		listNS = metav1.NamespaceAll
	}
	var metrics []metricsv1beta1.PodMetrics
	if name != "" {
		m, err := mc.MetricsV1beta1().PodMetricses(listNS).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		metrics = []metricsv1beta1.PodMetrics{*m}
	} else {
		ml, err := mc.MetricsV1beta1().PodMetricses(listNS).List(ctx, metav1.ListOptions{LabelSelector: sel.String(), FieldSelector: fsel.String()})
		if err != nil {
			return err
		}
		metrics = ml.Items
	}
	if len(metrics) == 0 {
		cs, err := f.Clientset()
		if err != nil {
			return err
		}
		// Pods too new for metrics are no error; older ones are.
		if err := verifyEmptyMetrics(ctx, cs, listNS, name, sel, fsel); err != nil {
			return err
		}
		if o.allNamespaces {
			fmt.Fprintln(cmd.ErrOrStderr(), "No resources found")
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "No resources found in %s namespace.\n", ns)
		}
		return nil
	}
	o.print(cmd, metrics)
	return nil
}

// podUsage sums the containers' usage.
func podUsage(m *metricsv1beta1.PodMetrics) corev1.ResourceList {
	total := corev1.ResourceList{}
	for _, r := range measured {
		total[r] = resource.MustParse("0")
	}
	for _, c := range m.Containers {
		for _, r := range measured {
			q := total[r]
			q.Add(c.Usage[r])
			total[r] = q
		}
	}
	return total
}

func (o *podOptions) print(cmd *cobra.Command, metrics []metricsv1beta1.PodMetrics) {
	w := newTabWriter(cmd.OutOrStdout())
	defer w.Flush()
	columns := 3
	if !o.noHeaders {
		if o.allNamespaces {
			printCells(w, "NAMESPACE")
			columns++
		}
		if o.containers {
			printCells(w, "POD")
			columns++
		}
		printCells(w, "NAME", "CPU(cores)", "MEMORY(bytes)")
		w.Write([]byte("\n"))
	}
	usages := make([]corev1.ResourceList, len(metrics))
	for i := range metrics {
		usages[i] = podUsage(&metrics[i])
	}
	sortByUsage(len(metrics), o.sortBy,
		func(i int) corev1.ResourceList { return usages[i] },
		func(i, j int) bool {
			if o.allNamespaces && metrics[i].Namespace != metrics[j].Namespace {
				return metrics[i].Namespace < metrics[j].Namespace
			}
			return metrics[i].Name < metrics[j].Name
		},
		func(i, j int) {
			metrics[i], metrics[j] = metrics[j], metrics[i]
			usages[i], usages[j] = usages[j], usages[i]
		})
	line := func(name string, u corev1.ResourceList) {
		printCells(w, name)
		for _, r := range measured {
			printCells(w, usage(r, u[r]))
		}
		w.Write([]byte("\n"))
	}
	for i, m := range metrics {
		if !o.containers {
			if o.allNamespaces {
				printCells(w, m.Namespace)
			}
			line(m.Name, usages[i])
			continue
		}
		cs := m.Containers
		sortByUsage(len(cs), o.sortBy,
			func(i int) corev1.ResourceList { return cs[i].Usage },
			func(i, j int) bool { return cs[i].Name < cs[j].Name },
			func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
		for _, c := range cs {
			if o.allNamespaces {
				printCells(w, m.Namespace)
			}
			printCells(w, m.Name)
			line(c.Name, c.Usage)
		}
	}
	if o.sum {
		total := corev1.ResourceList{}
		for _, u := range usages {
			for _, r := range measured {
				q := total[r]
				q.Add(u[r])
				total[r] = q
			}
		}
		for i := 0; i < columns-2; i++ {
			printCells(w, "")
		}
		printCells(w, "________", "________")
		w.Write([]byte("\n"))
		for i := 0; i < columns-3; i++ {
			printCells(w, "")
		}
		line("", total)
	}
}

func verifyEmptyMetrics(ctx context.Context, cs kubernetes.Interface, ns, name string, sel labels.Selector, fsel fields.Selector) error {
	if name != "" {
		pod, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		return checkPodAge(pod)
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String(), FieldSelector: fsel.String()})
	if err != nil {
		return err
	}
	if len(pods.Items) == 0 {
		return nil
	}
	for i := range pods.Items {
		if err := checkPodAge(&pods.Items[i]); err != nil {
			return err
		}
	}
	return errors.New("metrics not available yet")
}

func checkPodAge(pod *corev1.Pod) error {
	if age := time.Since(pod.CreationTimestamp.Time); age > metricsCreationDelay {
		return fmt.Errorf("Metrics not available for pod %s/%s, age: %s", pod.Namespace, pod.Name, age.String())
	}
	return nil
}
