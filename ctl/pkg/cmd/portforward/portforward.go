// Package portforward is `navctl port-forward`: local ports forwarded to a
// pod's ports through the apiserver's pods/portforward subresource,
// tunnelled over WebSocket or SPDY.
package portforward

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const portForwardLong = `Forward one or more local ports to a pod.

 Use resource type/name such as deployment/mydeployment to select a pod. Resource type defaults to 'pod' if omitted.

 If there are multiple pods matching the criteria, a pod will be selected automatically. The forwarding session ends when the selected pod terminates, and a rerun of the command is needed to resume forwarding.`

const portForwardExample = `  # Listen on ports 5000 and 6000 locally, forwarding data to/from ports 5000 and 6000 in the pod
  navctl port-forward pod/mypod 5000 6000

  # Listen on ports 5000 and 6000 locally, forwarding data to/from ports 5000 and 6000 in a pod selected by the deployment
  navctl port-forward deployment/mydeployment 5000 6000

  # Listen on port 8443 locally, forwarding to the targetPort of the service's port named "https" in a pod selected by the service
  navctl port-forward service/myservice 8443:https

  # Listen on port 8888 locally, forwarding to 5000 in the pod
  navctl port-forward pod/mypod 8888:5000

  # Listen on port 8888 on all addresses, forwarding to 5000 in the pod
  navctl port-forward --address 0.0.0.0 pod/mypod 8888:5000

  # Listen on port 8888 on localhost and selected IP, forwarding to 5000 in the pod
  navctl port-forward --address localhost,10.19.21.23 pod/mypod 8888:5000

  # Listen on a random port locally, forwarding to 5000 in the pod
  navctl port-forward pod/mypod :5000`

// NewCommand returns `navctl port-forward`.
func NewCommand(f *factory.Factory) *cobra.Command {
	var (
		addresses  []string
		podTimeout time.Duration
	)
	cmd := &cobra.Command{
		Use:                   "port-forward TYPE/NAME [options] [LOCAL_PORT:]REMOTE_PORT [...[LOCAL_PORT_N:]REMOTE_PORT_N]",
		DisableFlagsInUseLine: true,
		Short:                 "Forward one or more local ports to a pod",
		Long:                  portForwardLong,
		Example:               portForwardExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return cli.CmdUsagef(cmd.CommandPath(), "TYPE/NAME and list of ports are required for port-forward")
			}
			if podTimeout <= 0 {
				return cli.CmdUsagef(cmd.CommandPath(), "--pod-running-timeout must be higher than zero")
			}
			ctx := cmd.Context()
			ns, _, err := f.Namespace()
			if err != nil {
				return err
			}
			mapper, err := f.Mapper()
			if err != nil {
				return err
			}
			dyn, err := f.Dynamic()
			if err != nil {
				return err
			}
			client, err := f.Clientset()
			if err != nil {
				return err
			}
			obj, err := resource.Object(ctx, mapper, dyn, ns, args[0], "pods")
			if err != nil {
				return err
			}
			pod, _, err := resource.PodForObject(ctx, client, obj, podTimeout)
			if err != nil {
				if obj.GetKind() != "Pod" && !errors.Is(err, resource.ErrPodTimeout) {
					return fmt.Errorf("cannot attach to %s: %v", resource.GoType(obj), err)
				}
				return err
			}
			var ports []string
			if obj.GetKind() == "Service" {
				svc := &corev1.Service{}
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.UnstructuredContent(), svc); err != nil {
					return err
				}
				if err := checkUDP(args[1:], udpOnlyServicePorts(svc), func(name string) (int32, error) { return servicePortByName(svc, name) }); err != nil {
					return err
				}
				if ports, err = servicePortsToPod(args[1:], svc, pod); err != nil {
					return err
				}
			} else {
				if err := checkUDP(args[1:], udpOnlyPodPorts(pod), func(name string) (int32, error) { return containerPortByName(pod, name) }); err != nil {
					return err
				}
				if ports, err = namedPortsToNumbers(args[1:], pod); err != nil {
					return err
				}
			}

			// The pod must be running now, not just when it was picked.
			pod, err = client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if pod.Status.Phase != corev1.PodRunning {
				return fmt.Errorf("unable to forward port because pod is not running. Current status=%v", pod.Status.Phase)
			}

			config, err := f.RESTConfig()
			if err != nil {
				return err
			}
			u := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("portforward").URL()
			transport, upgrader, err := spdy.RoundTripperFor(config)
			if err != nil {
				return err
			}
			var dialer httpstream.Dialer = spdy.NewDialer(upgrader, &http.Client{Transport: transport}, "POST", u)
			tunnel, err := portforward.NewSPDYOverWebsocketDialer(u, config)
			if err != nil {
				return err
			}
			dialer = portforward.NewFallbackDialer(tunnel, dialer, func(err error) bool {
				return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
			})

			stop, ready := make(chan struct{}), make(chan struct{})
			signals := make(chan os.Signal, 1)
			signal.Notify(signals, os.Interrupt)
			defer signal.Stop(signals)
			go func() {
				select {
				case <-signals:
				case <-ctx.Done():
				}
				close(stop)
			}()
			fw, err := portforward.NewOnAddresses(dialer, addresses, ports, stop, ready, f.IO.Out, f.IO.ErrOut)
			if err != nil {
				return err
			}
			return fw.ForwardPorts()
		},
	}
	cmd.Flags().DurationVar(&podTimeout, "pod-running-timeout", time.Minute, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	cmd.Flags().StringSliceVar(&addresses, "address", []string{"localhost"}, "Addresses to listen on (comma separated). Only accepts IP addresses or localhost as a value. When localhost is supplied, navctl will try to bind on both 127.0.0.1 and ::1 and will fail if neither of these addresses are available to bind.")
	return cmd
}

// splitPort splits "[LOCAL:]REMOTE".
func splitPort(port string) (local, remote string) {
	parts := strings.Split(port, ":")
	if len(parts) == 2 {
		return parts[0], parts[1]
	}
	return parts[0], parts[0]
}

func joinPort(local, remote string) string {
	if local == remote {
		return remote
	}
	return local + ":" + remote
}

// namedPortsToNumbers resolves remote ports given by container port name.
func namedPortsToNumbers(ports []string, pod *corev1.Pod) ([]string, error) {
	var out []string
	for _, p := range ports {
		local, remote := splitPort(p)
		if remote == "" {
			return nil, errors.New("remote port cannot be empty")
		}
		number := remote
		if _, err := strconv.Atoi(remote); err != nil {
			n, err := containerPortByName(pod, remote)
			if err != nil {
				return nil, err
			}
			number = strconv.Itoa(int(n))
		}
		if local != remote {
			out = append(out, local+":"+number)
		} else {
			out = append(out, number)
		}
	}
	return out, nil
}

// servicePortsToPod turns service ports (by number or name) into the pod's
// target ports.
func servicePortsToPod(ports []string, svc *corev1.Service, pod *corev1.Pod) ([]string, error) {
	var out []string
	for _, p := range ports {
		local, remote := splitPort(p)
		number, err := strconv.Atoi(remote)
		if err != nil {
			n, err := servicePortByName(svc, remote)
			if err != nil {
				return nil, err
			}
			number = int(n)
			if local == remote {
				local = strconv.Itoa(number)
			}
		}
		target, err := targetPort(svc, pod, int32(number))
		if err != nil {
			return nil, err
		}
		out = append(out, joinPort(local, strconv.Itoa(int(target))))
	}
	return out, nil
}

// targetPort is the pod port a service port sends to.
func targetPort(svc *corev1.Service, pod *corev1.Pod, port int32) (int32, error) {
	for _, sp := range svc.Spec.Ports {
		if sp.Port != port {
			continue
		}
		if svc.Spec.ClusterIP == corev1.ClusterIPNone {
			return port, nil
		}
		if sp.TargetPort.Type == intstr.Int {
			if sp.TargetPort.IntValue() == 0 {
				return sp.Port, nil
			}
			return int32(sp.TargetPort.IntValue()), nil
		}
		return containerPortByName(pod, sp.TargetPort.String())
	}
	return port, fmt.Errorf("Service %s does not have a service port %d", svc.Name, port)
}

func containerPortByName(pod *corev1.Pod, name string) (int32, error) {
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.Name == name {
					return p.ContainerPort, nil
				}
			}
		}
	}
	return -1, fmt.Errorf("Pod '%s' does not have a named port '%s'", pod.Name, name)
}

func servicePortByName(svc *corev1.Service, name string) (int32, error) {
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return p.Port, nil
		}
	}
	return -1, fmt.Errorf("Service '%s' does not have a named port '%s'", svc.Name, name)
}

// udpOnly are the ports served over UDP and not TCP: port-forward is TCP only.
func udpOnly(udp, tcp map[int32]bool) map[int32]bool {
	out := map[int32]bool{}
	for p := range udp {
		if !tcp[p] {
			out[p] = true
		}
	}
	return out
}

func udpOnlyServicePorts(svc *corev1.Service) map[int32]bool {
	udp, tcp := map[int32]bool{}, map[int32]bool{}
	for _, p := range svc.Spec.Ports {
		switch p.Protocol {
		case corev1.ProtocolUDP:
			udp[p.Port] = true
		case corev1.ProtocolTCP:
			tcp[p.Port] = true
		}
	}
	return udpOnly(udp, tcp)
}

func udpOnlyPodPorts(pod *corev1.Pod) map[int32]bool {
	udp, tcp := map[int32]bool{}, map[int32]bool{}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			switch p.Protocol {
			case corev1.ProtocolUDP:
				udp[p.ContainerPort] = true
			case corev1.ProtocolTCP:
				tcp[p.ContainerPort] = true
			}
		}
	}
	return udpOnly(udp, tcp)
}

func checkUDP(ports []string, udp map[int32]bool, byName func(string) (int32, error)) error {
	for _, p := range ports {
		_, remote := splitPort(p)
		n, err := strconv.Atoi(remote)
		if err != nil {
			named, err := byName(remote)
			if err != nil {
				return err
			}
			n = int(named)
		}
		if udp[int32(n)] {
			return fmt.Errorf("UDP protocol is not supported for %s", remote)
		}
	}
	return nil
}
