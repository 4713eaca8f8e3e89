// Package clusterinfo is navctl cluster-info: where the control plane and
// the cluster services (kube-system Services labelled
// kubernetes.io/cluster-service=true) are served.
package clusterinfo

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/ctl/pkg/factory"
)

// NewCommand returns navctl cluster-info.
func NewCommand(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "cluster-info",
		DisableFlagsInUseLine: true,
		Short:                 "Display cluster information",
		Long:                  "Display addresses of the control plane and services with label kubernetes.io/cluster-service=true. To further debug and diagnose cluster problems, use 'navctl cluster-info dump'.",
		Example: `  # Print the address of the control plane and cluster services
  navctl cluster-info`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return run(ctx, f)
		},
	}
	cmd.AddCommand(newDumpCommand(f))
	return cmd
}

func run(ctx context.Context, f *factory.Factory) error {
	cfg, err := f.RESTConfig()
	if err != nil {
		return err
	}
	cs, err := f.Clientset()
	if err != nil {
		return err
	}
	out := f.IO.Out
	svcs, err := cs.CoreV1().Services(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/cluster-service=true"})
	if err != nil {
		fmt.Fprintln(out)
		fmt.Fprintln(out, "To further debug and diagnose cluster problems, use 'navctl cluster-info dump'.")
		return err
	}
	printService(out, "Kubernetes control plane", cfg.Host)
	for _, svc := range svcs.Items {
		name := svc.Name
		if n := svc.Labels["kubernetes.io/name"]; n != "" {
			name = n
		}
		if link := serviceLink(cfg.Host, &svc); link != "" {
			printService(out, name, link)
		}
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "To further debug and diagnose cluster problems, use 'navctl cluster-info dump'.")
	return nil
}

// serviceLink is where a cluster service is reached: its load balancer, else
// the apiserver's service proxy for its first port.
func serviceLink(host string, svc *corev1.Service) string {
	if len(svc.Spec.Ports) == 0 {
		return ""
	}
	port := svc.Spec.Ports[0]
	if ing := svc.Status.LoadBalancer.Ingress; len(ing) > 0 {
		addr := ing[0].IP
		if addr == "" {
			addr = ing[0].Hostname
		}
		return "http://" + net.JoinHostPort(addr, strconv.Itoa(int(port.Port)))
	}
	name := svc.Name
	if port.Name != "" {
		name += ":" + port.Name
	}
	return host + "/api/v1/namespaces/" + svc.Namespace + "/services/" + name + "/proxy"
}

func printService(out io.Writer, name, link string) {
	fmt.Fprintf(out, "%s is running at %s\n", name, link)
}
