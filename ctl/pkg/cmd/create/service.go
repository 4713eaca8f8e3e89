package create

import (
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"navarch.dev/ctl/pkg/factory"
)

func newServiceCommand(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "service (clusterip | nodeport)",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"svc"},
		Short:                 "Create a service using a specified subcommand",
		Long:                  "Create a service using a specified subcommand.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newServiceTypeCommand(f, corev1.ServiceTypeClusterIP), newServiceTypeCommand(f, corev1.ServiceTypeNodePort))
	return cmd
}

func newServiceTypeCommand(f *factory.Factory, typ corev1.ServiceType) *cobra.Command {
	var (
		w         writeFlags
		tcp       []string
		clusterIP string
		nodePort  int
	)
	cmd := &cobra.Command{
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneName(cmd, args)
			if err != nil {
				return err
			}
			svc, err := buildService(name, typ, tcp, clusterIP, nodePort)
			if err != nil {
				return err
			}
			return w.generated(cmd.Context(), f, svc, failedTo(string(typ)+" service"))
		},
	}
	cmd.Flags().StringSliceVar(&tcp, "tcp", nil, "Port pairs can be specified as '<port>:<targetPort>'.")
	switch typ {
	case corev1.ServiceTypeClusterIP:
		cmd.Use = "clusterip NAME [--tcp=<port>:<targetPort>] [--dry-run=server|client|none]"
		cmd.Short = "Create a ClusterIP service"
		cmd.Long = "Create a ClusterIP service with the specified name."
		cmd.Example = `  # Create a new ClusterIP service named my-cs
  navctl create service clusterip my-cs --tcp=5678:8080

  # Create a new ClusterIP service named my-cs (in headless mode)
  navctl create service clusterip my-cs --clusterip="None"`
		cmd.Flags().StringVar(&clusterIP, "clusterip", "", "Assign your own ClusterIP or set to 'None' for a 'headless' service (no loadbalancing).")
	case corev1.ServiceTypeNodePort:
		cmd.Use = "nodeport NAME [--tcp=port:targetPort] [--dry-run=server|client|none]"
		cmd.Short = "Create a NodePort service"
		cmd.Long = "Create a NodePort service with the specified name."
		cmd.Example = `  # Create a new NodePort service named my-ns
  navctl create service nodeport my-ns --tcp=5678:8080`
		cmd.Flags().IntVar(&nodePort, "node-port", 0, "Port used to expose the service on each node in a cluster.")
	}
	w.add(cmd)
	return cmd
}

// buildService is kubectl's service: labels and selector app=NAME, a TCP
// port per --tcp ("port" or "port:targetPort", named "port-targetPort" or
// "port").
func buildService(name string, typ corev1.ServiceType, tcp []string, clusterIP string, nodePort int) (*corev1.Service, error) {
	if len(tcp) == 0 && clusterIP != corev1.ClusterIPNone {
		return nil, errors.New("at least one tcp port specifier must be provided")
	}
	var ports []corev1.ServicePort
	for _, spec := range tcp {
		portStr, targetStr, hasTarget := strings.Cut(spec, ":")
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			return nil, err
		}
		name := portStr
		target := intstr.FromInt32(int32(port))
		if hasTarget {
			name = portStr + "-" + targetStr
			target = intstr.Parse(targetStr)
		}
		ports = append(ports, corev1.ServicePort{
			Name:       name,
			Port:       int32(port),
			TargetPort: target,
			Protocol:   corev1.ProtocolTCP,
			NodePort:   int32(nodePort),
		})
	}
	labels := map[string]string{"app": name}
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.ServiceSpec{
			Type:      typ,
			ClusterIP: clusterIP,
			Ports:     ports,
			Selector:  labels,
		},
	}, nil
}
