package clusterinfo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
)

type dumpOptions struct {
	output        string
	outputDir     string
	namespaces    []string
	allNamespaces bool
}

func newDumpCommand(f *factory.Factory) *cobra.Command {
	o := &dumpOptions{}
	cmd := &cobra.Command{
		Use:                   "dump",
		DisableFlagsInUseLine: true,
		Short:                 "Dump relevant information for debugging and diagnosis",
		Long: `Dump cluster information out suitable for debugging and diagnosing cluster problems.  By default, dumps everything to stdout. You can optionally specify a directory with --output-directory.  If you specify a directory, Navarch will build a set of files in that directory.  By default, only dumps things in the current namespace and 'kube-system' namespace, but you can switch to a different namespace with the --namespaces flag, or specify --all-namespaces to dump all namespaces.

 The command also dumps the logs of all of the pods in the cluster; these logs are dumped into different directories based on namespace and pod name.`,
		Example: `  # Dump current cluster state to stdout
  navctl cluster-info dump

  # Dump current cluster state to /path/to/cluster-state
  navctl cluster-info dump --output-directory=/path/to/cluster-state

  # Dump all namespaces to stdout
  navctl cluster-info dump --all-namespaces

  # Dump a set of namespaces to /path/to/cluster-state
  navctl cluster-info dump --namespaces default,kube-system --output-directory=/path/to/cluster-state`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return o.run(ctx, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.output, "output", "o", "json", "Output format. One of: (json, yaml).")
	fl.StringVar(&o.outputDir, "output-directory", "", "Where to output the files.  If empty or '-' uses stdout, otherwise creates a directory hierarchy in that directory")
	fl.StringSliceVar(&o.namespaces, "namespaces", nil, "A comma separated list of namespaces to dump.")
	fl.BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "If true, dump all namespaces.  If true, --namespaces is ignored.")
	return cmd
}

func (o *dumpOptions) run(ctx context.Context, f *factory.Factory) error {
	var p printers.Printer
	ext := ".json"
	switch o.output {
	case "json":
		p = printers.JSON
	case "yaml":
		p, ext = printers.YAML, ".yaml"
	default:
		return fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,yaml", o.output)
	}
	cs, err := f.Clientset()
	if err != nil {
		return err
	}
	toStdout := o.outputDir == "" || o.outputDir == "-"
	// write prints obj to stdout or to file under the output directory.
	write := func(obj runtime.Object, file string) error {
		if toStdout {
			return p.PrintObj(obj, f.IO.Out)
		}
		path := filepath.Join(o.outputDir, file+ext)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		fh, err := os.Create(path)
		if err != nil {
			return err
		}
		defer fh.Close()
		return p.PrintObj(obj, fh)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	nodes.Kind, nodes.APIVersion = "NodeList", "v1"
	if err := write(nodes, "nodes"); err != nil {
		return err
	}
	namespaces, err := o.namespacesToDump(ctx, f, cs)
	if err != nil {
		return err
	}
	for _, ns := range namespaces {
		if err := dumpNamespace(ctx, cs, ns, write); err != nil {
			return err
		}
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, pod := range pods.Items {
			if err := o.dumpLogs(ctx, f, cs, &pod); err != nil {
				return err
			}
		}
	}
	if !toStdout {
		fmt.Fprintf(f.IO.Out, "Cluster info dumped to %s\n", o.outputDir)
	}
	return nil
}

func (o *dumpOptions) namespacesToDump(ctx context.Context, f *factory.Factory, cs kubernetes.Interface) ([]string, error) {
	if o.allNamespaces {
		l, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, n := range l.Items {
			out = append(out, n.Name)
		}
		return out, nil
	}
	if len(o.namespaces) > 0 {
		return o.namespaces, nil
	}
	ns, _, err := f.Namespace()
	if err != nil {
		return nil, err
	}
	if ns == metav1.NamespaceSystem {
		return []string{ns}, nil
	}
	return []string{metav1.NamespaceSystem, ns}, nil
}

// dumpNamespace writes the lists kubectl dumps for a namespace, in its order.
func dumpNamespace(ctx context.Context, cs kubernetes.Interface, ns string, write func(runtime.Object, string) error) error {
	lo := metav1.ListOptions{}
	steps := []struct {
		file string
		list func() (runtime.Object, error)
	}{
		{"events", func() (runtime.Object, error) {
			l, err := cs.CoreV1().Events(ns).List(ctx, lo)
			if l != nil {
				l.Kind, l.APIVersion = "EventList", "v1"
			}
			return l, err
		}},
		{"replication-controllers", func() (runtime.Object, error) {
			l, err := cs.CoreV1().ReplicationControllers(ns).List(ctx, lo)
			if l != nil {
				l.Kind, l.APIVersion = "ReplicationControllerList", "v1"
			}
			return l, err
		}},
		{"services", func() (runtime.Object, error) {
			l, err := cs.CoreV1().Services(ns).List(ctx, lo)
			if l != nil {
				l.Kind, l.APIVersion = "ServiceList", "v1"
			}
			return l, err
		}},
		{"daemonsets", func() (runtime.Object, error) {
			l, err := cs.AppsV1().DaemonSets(ns).List(ctx, lo)
			if l != nil {
				l.Kind, l.APIVersion = "DaemonSetList", "apps/v1"
			}
			return l, err
		}},
		{"deployments", func() (runtime.Object, error) {
			l, err := cs.AppsV1().Deployments(ns).List(ctx, lo)
			if l != nil {
				l.Kind, l.APIVersion = "DeploymentList", "apps/v1"
			}
			return l, err
		}},
		{"replicasets", func() (runtime.Object, error) {
			l, err := cs.AppsV1().ReplicaSets(ns).List(ctx, lo)
			if l != nil {
				l.Kind, l.APIVersion = "ReplicaSetList", "apps/v1"
			}
			return l, err
		}},
		{"pods", func() (runtime.Object, error) {
			l, err := cs.CoreV1().Pods(ns).List(ctx, lo)
			if l != nil {
				l.Kind, l.APIVersion = "PodList", "v1"
			}
			return l, err
		}},
	}
	for _, s := range steps {
		obj, err := s.list()
		if err != nil {
			return err
		}
		if err := write(obj, filepath.Join(ns, s.file)); err != nil {
			return err
		}
	}
	return nil
}

// dumpLogs writes each container's log of a pod, or why it could not be read.
func (o *dumpOptions) dumpLogs(ctx context.Context, f *factory.Factory, cs kubernetes.Interface, pod *corev1.Pod) error {
	for _, c := range pod.Spec.Containers {
		var w io.Writer = f.IO.Out
		if o.outputDir != "" && o.outputDir != "-" {
			path := filepath.Join(o.outputDir, pod.Namespace, pod.Name, "logs.txt")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			fh, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			defer fh.Close()
			w = fh
		}
		fmt.Fprintf(w, "==== START logs for container %s of pod %s/%s ====\n", c.Name, pod.Namespace, pod.Name)
		b, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: c.Name}).DoRaw(ctx)
		if err != nil {
			fmt.Fprintf(w, "Request log error: %v\n", err)
		} else {
			w.Write(b)
		}
		fmt.Fprintf(w, "==== END logs for container %s of pod %s/%s ====\n", c.Name, pod.Namespace, pod.Name)
	}
	return nil
}
