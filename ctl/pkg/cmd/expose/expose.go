// Package expose is `navctl expose`: a Service for a Deployment, ReplicaSet,
// ReplicationController, Pod or Service, with its selector and ports taken
// from the object unless given.
package expose

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
	"navarch.dev/ctl/pkg/resource"
)

const exposeLong = `Expose a resource as a new Kubernetes service.

 Looks up a deployment, service, replica set, replication controller or pod by name and uses the selector for that resource as the selector for a new service on the specified port. A deployment or replica set will be exposed as a service only if its selector is convertible to a selector that service supports, i.e. when the selector contains only the matchLabels component. Note that if no port is specified via --port and the exposed resource has multiple ports, all will be re-used by the new service. Also if no labels are specified, the new service will re-use the labels from the resource it exposes.

 Possible resources include (case insensitive):

 pod (po), service (svc), replicationcontroller (rc), deployment (deploy), replicaset (rs)`

const exposeExample = `  # Create a service for a replicated nginx, which serves on port 80 and connects to the containers on port 8000
  navctl expose rc nginx --port=80 --target-port=8000

  # Create a service for a replication controller identified by type and name specified in "nginx-controller.yaml", which serves on port 80 and connects to the containers on port 8000
  navctl expose -f nginx-controller.yaml --port=80 --target-port=8000

  # Create a service for a pod valid-pod, which serves on port 444 with the name "frontend"
  navctl expose pod valid-pod --port=444 --name=frontend

  # Create a second service based on the above service, exposing the container port 8443 as port 443 with the name "nginx-https"
  navctl expose service nginx --port=443 --target-port=8443 --name=nginx-https

  # Create a service for a replicated streaming application on port 4100 balancing UDP traffic and named 'video-stream'.
  navctl expose rc streamer --port=4100 --protocol=UDP --name=video-stream

  # Create a service for a replicated nginx using replica set, which serves on port 80 and connects to the containers on port 8000
  navctl expose rs nginx --port=80 --target-port=8000

  # Create a service for an nginx deployment, which serves on port 80 and connects to the containers on port 8000
  navctl expose deployment nginx --port=80 --target-port=8000`

type options struct {
	filenames       []string
	recursive       bool
	protocol        string
	port            string
	serviceType     string
	loadBalancerIP  string
	selector        string
	labels          string
	targetPort      string
	externalIP      string
	name            string
	sessionAffinity string
	clusterIP       string
	fieldManager    string
	output          string
	dryRun          string
}

// NewCommand returns `navctl expose`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "expose (-f FILENAME | TYPE NAME) [--port=port] [--protocol=TCP|UDP|SCTP] [--target-port=number-or-name] [--name=name] [--external-ip=external-ip-of-service] [--type=type]",
		DisableFlagsInUseLine: true,
		Short:                 "Take a replication controller, service, deployment or pod and expose it as a new Kubernetes service",
		Long:                  exposeLong,
		Example:               exposeExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.protocol, "protocol", "", "The network protocol for the service to be created. Default is 'TCP'.")
	fl.StringVar(&o.port, "port", "", "The port that the service should serve on. Copied from the resource being exposed, if unspecified")
	fl.StringVar(&o.serviceType, "type", "", "Type for this service: ClusterIP, NodePort, LoadBalancer, or ExternalName. Default is 'ClusterIP'.")
	fl.StringVar(&o.loadBalancerIP, "load-balancer-ip", "", "IP to assign to the LoadBalancer. If empty, an ephemeral IP will be created and used (cloud-provider specific).")
	fl.StringVar(&o.selector, "selector", "", "A label selector to use for this service. Only equality-based selector requirements are supported. If empty (the default) infer the selector from the replication controller or replica set.)")
	fl.StringVarP(&o.labels, "labels", "l", "", "Labels to apply to the service created by this call.")
	fl.StringVar(&o.targetPort, "target-port", "", "Name or number for the port on the container that the service should direct traffic to. Optional.")
	fl.StringVar(&o.externalIP, "external-ip", "", "Additional external IP address (not managed by Kubernetes) to accept for the service. If this IP is routed to a node, the service can be accessed by this IP in addition to its generated service IP.")
	fl.StringVar(&o.name, "name", "", "The name for the newly created object.")
	fl.StringVar(&o.sessionAffinity, "session-affinity", "", "If non-empty, set the session affinity for the service to this; legal values: 'None', 'ClientIP'")
	fl.StringVar(&o.clusterIP, "cluster-ip", "", "ClusterIP to be assigned to the service. Leave empty to auto-allocate, or set to 'None' to create a headless service.")
	fl.StringVar(&o.fieldManager, "field-manager", "kubectl-expose", "Name of the manager used to track field ownership.")
	fl.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	fl.StringSliceVarP(&o.filenames, "filename", "f", nil, "Filename, directory, or URL to files identifying the resource to expose a service")
	fl.BoolVarP(&o.recursive, "recursive", "R", false, "Process the directory used in -f, --filename recursively. Useful when you want to manage related manifests organized within the same directory.")
	cli.AddDryRunFlag(fl, &o.dryRun)
	return cmd
}

func (o *options) run(cmd *cobra.Command, f *factory.Factory, args []string) error {
	var err error
	if o.dryRun, err = cli.DryRunStrategy(o.dryRun); err != nil {
		return err
	}
	if len(args) == 0 && len(o.filenames) == 0 {
		return fmt.Errorf("You must provide one or more resources by argument or filename.\nExample resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'")
	}
	ns, explicit, err := f.Namespace()
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
	type ref struct {
		m         *meta.RESTMapping
		namespace string
		name      string
	}
	var refs []ref
	if len(o.filenames) > 0 {
		manifests, err := resource.ReadManifests(o.filenames, o.recursive, f.IO.In)
		if err != nil {
			return err
		}
		for _, mf := range manifests {
			m, err := resource.MappingForObject(mapper, mf.Object)
			if err != nil {
				return err
			}
			objNS := mf.Object.GetNamespace()
			if objNS == "" {
				objNS = ns
			}
			refs = append(refs, ref{m: m, namespace: objNS, name: mf.Object.GetName()})
		}
	} else {
		disc, err := f.Discovery()
		if err != nil {
			return err
		}
		rs, err := resource.Resolve(mapper, disc, args)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Name == "" {
				return errors.New("resource(s) were provided, but no name was specified")
			}
			refs = append(refs, ref{m: r.Mapping, namespace: ns, name: r.Name})
		}
	}
	for _, r := range refs {
		u, err := resource.Client(dyn, r.m, r.namespace).Get(cmd.Context(), r.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		svc, err := o.service(u)
		if err != nil {
			return err
		}
		if o.dryRun == cli.DryRunClient {
			if explicit {
				svc.Namespace = ns
			}
			if err := printers.Operation(f.IO.Out, svc, "exposed", o.dryRun, o.output); err != nil {
				return err
			}
			continue
		}
		c, err := f.Clientset()
		if err != nil {
			return err
		}
		opts := metav1.CreateOptions{FieldManager: o.fieldManager}
		if o.dryRun == cli.DryRunServer {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		created, err := c.CoreV1().Services(r.namespace).Create(cmd.Context(), svc, opts)
		if err != nil {
			return err
		}
		created.Kind, created.APIVersion = "Service", "v1"
		if err := printers.Operation(f.IO.Out, created, "exposed", o.dryRun, o.output); err != nil {
			return err
		}
	}
	return nil
}

// exposed is what expose needs from the object it exposes.
type exposed struct {
	selector  map[string]string
	ports     []string            // in order, without duplicates
	protocols map[string][]string // port → protocols
}

// service builds the Service for the object, as kubectl's generator does.
func (o *options) service(u *unstructured.Unstructured) (*corev1.Service, error) {
	kind := u.GroupVersionKind().GroupKind()
	switch {
	case kind.Group == "" && (kind.Kind == "Pod" || kind.Kind == "Service" || kind.Kind == "ReplicationController"):
	case (kind.Group == "apps" || kind.Group == "extensions") && (kind.Kind == "Deployment" || kind.Kind == "ReplicaSet"):
	default:
		return nil, fmt.Errorf("cannot expose a %s", kind)
	}
	ex, selErr := introspect(u)
	if selErr != nil && o.selector == "" {
		return nil, fmt.Errorf("couldn't retrieve selectors via --selector flag or introspection: %v", selErr)
	}
	selector := ex.selector
	if o.selector != "" {
		var err error
		if selector, err = parseLabels(o.selector); err != nil {
			return nil, err
		}
	}
	if len(selector) == 0 {
		return nil, errors.New("selector must be specified")
	}

	ports := ex.ports
	if o.port != "" {
		ports = []string{o.port}
	} else if len(ports) == 0 && o.clusterIP != "None" {
		return nil, errors.New("couldn't find port via --port flag or introspection")
	}

	labels := u.GetLabels()
	if o.labels != "" {
		var err error
		if labels, err = parseLabels(o.labels); err != nil {
			return nil, err
		}
	}
	name := o.name
	if name == "" {
		name = u.GetName()
		if len(name) > validation.DNS1035LabelMaxLength {
			name = name[:validation.DNS1035LabelMaxLength]
		}
	}

	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.ServiceSpec{Selector: selector, Ports: []corev1.ServicePort{}},
	}
	for i, p := range ports {
		port, err := strconv.Atoi(p)
		if err != nil {
			return nil, err
		}
		portName := ""
		if len(ports) > 1 {
			portName = fmt.Sprintf("port-%d", i+1)
		}
		protocol := o.protocol
		if protocol == "" {
			protocol = "TCP"
			// A port served over several protocols becomes one service port per protocol.
			if ps := ex.protocols[p]; len(ps) == 1 {
				protocol = ps[0]
			} else if len(ps) > 1 {
				for _, proto := range ps {
					svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
						Name: fmt.Sprintf("port-%d-%s", i+1, strings.ToLower(proto)), Port: int32(port), Protocol: corev1.Protocol(proto),
					})
				}
				continue
			}
		}
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: portName, Port: int32(port), Protocol: corev1.Protocol(protocol)})
	}
	for i := range svc.Spec.Ports {
		if o.targetPort != "" {
			svc.Spec.Ports[i].TargetPort = intstr.Parse(o.targetPort)
		} else {
			svc.Spec.Ports[i].TargetPort = intstr.FromInt32(svc.Spec.Ports[i].Port)
		}
	}
	if o.externalIP != "" {
		svc.Spec.ExternalIPs = []string{o.externalIP}
	}
	if o.serviceType != "" {
		svc.Spec.Type = corev1.ServiceType(o.serviceType)
	}
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		svc.Spec.LoadBalancerIP = o.loadBalancerIP
	}
	switch corev1.ServiceAffinity(o.sessionAffinity) {
	case "":
	case corev1.ServiceAffinityNone, corev1.ServiceAffinityClientIP:
		svc.Spec.SessionAffinity = corev1.ServiceAffinity(o.sessionAffinity)
	default:
		return nil, fmt.Errorf("unknown session affinity: %s", o.sessionAffinity)
	}
	if o.clusterIP != "" {
		svc.Spec.ClusterIP = o.clusterIP
	}
	return svc, nil
}

// introspect reads the selector, ports and protocols of the object. The
// ports are read even when the selector cannot be.
func introspect(u *unstructured.Unstructured) (exposed, error) {
	var ex exposed
	var selErr error
	convert := func(out any) error {
		return runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), out)
	}
	switch u.GetKind() {
	case "Pod":
		var p corev1.Pod
		if err := convert(&p); err != nil {
			return ex, err
		}
		ex.ports, ex.protocols = containerPorts(p.Spec)
		if len(p.Labels) == 0 {
			selErr = errors.New("the pod has no labels and cannot be exposed")
		}
		ex.selector = p.Labels
	case "Service":
		var s corev1.Service
		if err := convert(&s); err != nil {
			return ex, err
		}
		ex.protocols = map[string][]string{}
		for _, sp := range s.Spec.Ports {
			p := strconv.Itoa(int(sp.Port))
			if _, ok := ex.protocols[p]; !ok {
				ex.ports = append(ex.ports, p)
			}
			proto := string(sp.Protocol)
			if proto == "" {
				proto = "TCP"
			}
			ex.protocols[p] = append(ex.protocols[p], proto)
		}
		if s.Spec.Selector == nil {
			selErr = errors.New("the service has no pod selector set")
		}
		ex.selector = s.Spec.Selector
	case "ReplicationController":
		var rc corev1.ReplicationController
		if err := convert(&rc); err != nil {
			return ex, err
		}
		if rc.Spec.Template != nil {
			ex.ports, ex.protocols = containerPorts(rc.Spec.Template.Spec)
		}
		ex.selector = rc.Spec.Selector
	case "Deployment", "ReplicaSet":
		var sel *metav1.LabelSelector
		var spec corev1.PodSpec
		if u.GetKind() == "Deployment" {
			var d appsv1.Deployment
			if err := convert(&d); err != nil {
				return ex, err
			}
			sel, spec = d.Spec.Selector, d.Spec.Template.Spec
		} else {
			var rs appsv1.ReplicaSet
			if err := convert(&rs); err != nil {
				return ex, err
			}
			sel, spec = rs.Spec.Selector, rs.Spec.Template.Spec
		}
		ex.ports, ex.protocols = containerPorts(spec)
		switch {
		case sel == nil || len(sel.MatchLabels) == 0:
			selErr = fmt.Errorf("invalid %s: no selectors, therefore cannot be exposed", strings.ToLower(u.GetKind()))
		case len(sel.MatchExpressions) > 0:
			selErr = fmt.Errorf("couldn't convert expressions - \"%+v\" to map-based selector format", sel.MatchExpressions)
		default:
			ex.selector = sel.MatchLabels
		}
	}
	return ex, selErr
}

// containerPorts lists the containers' ports (each once) and their protocols.
func containerPorts(spec corev1.PodSpec) ([]string, map[string][]string) {
	var ports []string
	protocols := map[string][]string{}
	for _, c := range spec.Containers {
		for _, cp := range c.Ports {
			p := strconv.Itoa(int(cp.ContainerPort))
			if _, ok := protocols[p]; !ok {
				ports = append(ports, p)
			}
			proto := string(cp.Protocol)
			if proto == "" {
				proto = "TCP"
			}
			protocols[p] = append(protocols[p], proto)
		}
	}
	return ports, protocols
}

// parseLabels reads "k=v,k2=v2".
func parseLabels(spec string) (map[string]string, error) {
	labels := map[string]string{}
	for _, kv := range strings.Split(spec, ",") {
		parts := strings.Split(kv, "=")
		if len(parts) != 2 {
			return nil, fmt.Errorf("unexpected label spec: %s", kv)
		}
		if parts[0] == "" {
			return nil, errors.New("unexpected empty label key")
		}
		labels[parts[0]] = parts[1]
	}
	return labels, nil
}
