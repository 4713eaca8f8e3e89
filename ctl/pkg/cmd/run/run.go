// Package run is `navctl run`: create and run a particular image in a pod,
// optionally with a Service in front of it.
package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/printers"
)

const runExample = `  # Start a nginx pod
  navctl run nginx --image=nginx

  # Start a hazelcast pod and let the container expose port 5701
  navctl run hazelcast --image=hazelcast/hazelcast --port=5701

  # Start a hazelcast pod and set environment variables "DNS_DOMAIN=cluster" and "POD_NAMESPACE=default" in the container
  navctl run hazelcast --image=hazelcast/hazelcast --env="DNS_DOMAIN=cluster" --env="POD_NAMESPACE=default"

  # Start a hazelcast pod and set labels "app=hazelcast" and "env=prod" in the container
  navctl run hazelcast --image=hazelcast/hazelcast --labels="app=hazelcast,env=prod"

  # Dry run; print the corresponding API objects without creating them
  navctl run nginx --image=nginx --dry-run=client

  # Start a nginx pod, but overload the spec with a partial set of values parsed from JSON
  navctl run nginx --image=nginx --overrides='{ "apiVersion": "v1", "spec": { ... } }'

  # Start a busybox pod and keep it in the foreground, don't restart it if it exits
  navctl run -i -t busybox --image=busybox --restart=Never

  # Start the nginx pod using the default command, but use custom arguments (arg1 .. argN) for that command
  navctl run nginx --image=nginx -- <arg1> <arg2> ... <argN>

  # Start the nginx pod using a different command and custom arguments
  navctl run nginx --image=nginx --command -- <cmd> <arg1> ... <argN>`

type options struct {
	image           string
	imagePullPolicy string
	port            string
	labels          string
	env             []string
	annotations     []string
	restart         string
	command         bool
	expose          bool
	stdin, tty      bool
	attach, rm      bool
	privileged      bool
	serviceAccount  string
	overrides       string
	fieldManager    string
	output          string
	dryRun          string
}

// NewCommand returns `navctl run`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "run NAME --image=image [--env=\"key=value\"] [--port=port] [--dry-run=server|client] [--overrides=inline-json] [--command] -- [COMMAND] [args...]",
		DisableFlagsInUseLine: true,
		Short:                 "Run a particular image on the cluster",
		Long:                  "Create and run a particular image in a pod.",
		Example:               runExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&o.annotations, "annotations", nil, "Annotations to apply to the pod.")
	fl.StringVar(&o.image, "image", "", "The image for the container to run.")
	_ = cmd.MarkFlagRequired("image")
	fl.StringVar(&o.imagePullPolicy, "image-pull-policy", "", "The image pull policy for the container.  If left empty, this value will not be specified by the client and defaulted by the server.")
	fl.BoolVar(&o.rm, "rm", false, "If true, delete the pod after it exits.  Only valid when attaching to the container, e.g. with '--attach' or with '-i/--stdin'.")
	fl.StringArrayVar(&o.env, "env", nil, "Environment variables to set in the container.")
	fl.StringVar(&o.port, "port", "", "The port that this container exposes.")
	fl.StringVarP(&o.labels, "labels", "l", "", "Comma separated labels to apply to the pod. Will override previous values.")
	fl.BoolVarP(&o.stdin, "stdin", "i", false, "Keep stdin open on the container in the pod, even if nothing is attached.")
	fl.BoolVarP(&o.tty, "tty", "t", false, "Allocate a TTY for the container in the pod.")
	fl.BoolVar(&o.attach, "attach", false, "If true, wait for the Pod to start running, and then attach to the Pod as if 'navctl attach ...' were called.  Default false, unless '-i/--stdin' is set, in which case the default is true. With '--restart=Never' the exit code of the container process is returned.")
	fl.StringVar(&o.restart, "restart", "Always", "The restart policy for this Pod.  Legal values [Always, OnFailure, Never].")
	fl.BoolVar(&o.command, "command", false, "If true and extra arguments are present, use them as the 'command' field in the container, rather than the 'args' field which is the default.")
	fl.BoolVar(&o.expose, "expose", false, "If true, create a ClusterIP service associated with the pod.  Requires `--port`.")
	fl.BoolVar(&o.privileged, "privileged", false, "If true, run the container in privileged mode.")
	fl.StringVar(&o.serviceAccount, "serviceaccount", "", "Service account to set in the pod spec.")
	fl.StringVar(&o.overrides, "overrides", "", "An inline JSON override for the generated object. If this is non-empty, it is used to override the generated object. Requires that the object supply a valid apiVersion field.")
	fl.StringVar(&o.fieldManager, "field-manager", "kubectl-run", "Name of the manager used to track field ownership.")
	fl.StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml, name, go-template, go-template-file, template, templatefile, jsonpath, jsonpath-as-json, jsonpath-file).")
	cli.AddDryRunFlag(fl, &o.dryRun)
	return cmd
}

func (o *options) run(cmd *cobra.Command, f *factory.Factory, args []string) error {
	usage := func(format string, a ...any) error { return cli.CmdUsagef(cmd.CommandPath(), format, a...) }
	var err error
	if o.dryRun, err = cli.DryRunStrategy(o.dryRun); err != nil {
		return err
	}
	// The name comes before "--": what follows is the container's command.
	if len(args) == 0 || cmd.ArgsLenAtDash() == 0 {
		return usage("NAME is required for run")
	}
	if o.image == "" {
		return errors.New("--image is required")
	}
	if !referenceRegexp.MatchString(o.image) {
		return fmt.Errorf("Invalid image name %q: invalid reference format", o.image)
	}
	if o.tty && !o.stdin {
		return usage("-i/--stdin is required for containers with -t/--tty=true")
	}
	if o.expose && o.port == "" {
		return usage("--port must be set when exposing a service")
	}
	restart := corev1.RestartPolicy(o.restart)
	switch restart {
	case "":
		restart = corev1.RestartPolicyAlways
		if o.stdin {
			restart = corev1.RestartPolicyOnFailure
		}
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	default:
		return usage("invalid restart policy: %s", o.restart)
	}
	attach := o.attach || (o.stdin && !cmd.Flags().Changed("attach"))
	if !attach && o.rm {
		return usage("--rm should only be used for attached containers")
	}
	if attach && o.dryRun != cli.DryRunNone {
		return usage("--dry-run=[server|client] can't be used with attached containers options (--attach, --stdin, or --tty)")
	}
	switch corev1.PullPolicy(o.imagePullPolicy) {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return usage("invalid image pull policy: %s", o.imagePullPolicy)
	}
	if attach {
		return errors.New("attaching to a started pod (--attach, -i/--stdin) is not supported yet: it needs a kubelet; run the pod, then use navctl attach")
	}

	pod, err := o.pod(args)
	if err != nil {
		return err
	}
	ns, explicit, err := f.Namespace()
	if err != nil {
		return err
	}
	var svc *corev1.Service
	if o.expose {
		if svc, err = o.service(pod); err != nil {
			return err
		}
	}
	objs := []runtime.Object{}
	if svc != nil {
		objs = append(objs, svc)
	}
	objs = append(objs, pod)

	for i, obj := range objs {
		if o.dryRun != cli.DryRunClient {
			c, err := f.Clientset()
			if err != nil {
				return err
			}
			opts := metav1.CreateOptions{FieldManager: o.fieldManager}
			if o.dryRun == cli.DryRunServer {
				opts.DryRun = []string{metav1.DryRunAll}
			}
			switch v := obj.(type) {
			case *corev1.Pod:
				created, err := c.CoreV1().Pods(ns).Create(cmd.Context(), v, opts)
				if err != nil {
					return err
				}
				created.Kind, created.APIVersion = "Pod", "v1"
				obj = created
			case *corev1.Service:
				created, err := c.CoreV1().Services(ns).Create(cmd.Context(), v, opts)
				if err != nil {
					return err
				}
				created.Kind, created.APIVersion = "Service", "v1"
				obj = created
			}
		} else if explicit {
			if m, ok := obj.(metav1.Object); ok {
				m.SetNamespace(ns)
			}
		}
		if i > 0 && o.output == "yaml" {
			fmt.Fprintln(f.IO.Out, "---")
		}
		if err := printers.Operation(f.IO.Out, obj, "created", o.dryRun, o.output); err != nil {
			return err
		}
	}
	return nil
}

// pod builds the Pod as kubectl's run generator does: one container named
// like the pod, labelled run=NAME unless --labels says otherwise.
func (o *options) pod(args []string) (*corev1.Pod, error) {
	name := args[0]
	labels := map[string]string{"run": name}
	if o.labels != "" {
		var err error
		if labels, err = parseLabels(o.labels); err != nil {
			return nil, err
		}
	}
	var annotations map[string]string
	for _, a := range o.annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid annotations: %q", a)
		}
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[k] = v
	}
	var env []corev1.EnvVar
	for _, e := range o.env {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" || len(validation.IsEnvVarName(k)) != 0 {
			return nil, fmt.Errorf("invalid env: %v", e)
		}
		env = append(env, corev1.EnvVar{Name: k, Value: v})
	}
	c := corev1.Container{
		Name:            name,
		Image:           o.image,
		Stdin:           o.stdin,
		StdinOnce:       o.stdin,
		TTY:             o.tty,
		Env:             env,
		ImagePullPolicy: corev1.PullPolicy(o.imagePullPolicy),
	}
	if o.privileged {
		yes := true
		c.SecurityContext = &corev1.SecurityContext{Privileged: &yes}
	}
	if len(args) > 1 {
		if o.command {
			c.Command = args[1:]
		} else {
			c.Args = args[1:]
		}
	}
	if o.port != "" {
		port, err := strconv.Atoi(o.port)
		if err != nil {
			return nil, err
		}
		c.Ports = []corev1.ContainerPort{{ContainerPort: int32(port)}}
	}
	restart := corev1.RestartPolicy(o.restart)
	if restart == "" {
		restart = corev1.RestartPolicyAlways
		if o.stdin {
			restart = corev1.RestartPolicyOnFailure
		}
	}
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations},
		Spec: corev1.PodSpec{
			ServiceAccountName: o.serviceAccount,
			Containers:         []corev1.Container{c},
			DNSPolicy:          corev1.DNSClusterFirst,
			RestartPolicy:      restart,
		},
	}
	if o.overrides != "" {
		return overridePod(pod, o.overrides)
	}
	return pod, nil
}

// service is the ClusterIP Service --expose puts in front of the pod.
func (o *options) service(pod *corev1.Pod) (*corev1.Service, error) {
	port, err := strconv.Atoi(o.port)
	if err != nil {
		return nil, err
	}
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name},
		Spec: corev1.ServiceSpec{
			Selector: pod.Labels,
			Ports:    []corev1.ServicePort{{Port: int32(port), Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(int32(port))}},
		},
	}, nil
}

// parseLabels reads "k=v,k2=v2".
func parseLabels(spec string) (map[string]string, error) {
	labels := map[string]string{}
	for _, kv := range strings.Split(spec, ",") {
		parts := strings.Split(kv, "=")
		if len(parts) != 2 {
			return nil, fmt.Errorf("invalid label spec: %v", kv)
		}
		if errs := validation.IsQualifiedName(parts[0]); len(errs) != 0 {
			return nil, fmt.Errorf("invalid label spec: %v", kv)
		}
		labels[parts[0]] = parts[1]
	}
	return labels, nil
}

// referenceRegexp is the grammar of an image reference:
// [domain[:port]/]path[:tag][@digest].
var referenceRegexp = func() *regexp.Regexp {
	const (
		alnum     = `[a-z0-9]+`
		separator = `(?:[._]|__|[-]+)`
		component = alnum + `(?:` + separator + alnum + `)*`
		domainPt  = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		host      = `(?:` + domainPt + `(?:\.` + domainPt + `)*|\[[a-fA-F0-9:]+\])`
		domain    = host + `(?::[0-9]+)?`
		name      = `(?:` + domain + `/)?` + component + `(?:/` + component + `)*`
		tag       = `[\w][\w.-]{0,127}`
		digest    = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[[:xdigit:]]{32,}`
	)
	return regexp.MustCompile(`^` + name + `(?::` + tag + `)?(?:@` + digest + `)?$`)
}()

// overridePod applies --overrides to the generated pod as a JSON merge
// patch (RFC 7386), kubectl's default override type.
func overridePod(pod *corev1.Pod, overrides string) (*corev1.Pod, error) {
	var patch any
	if err := json.Unmarshal([]byte(overrides), &patch); err != nil {
		return nil, fmt.Errorf("error parsing --overrides: %v", err)
	}
	raw, err := json.Marshal(pod)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	merged, err := json.Marshal(mergePatch(doc, patch))
	if err != nil {
		return nil, err
	}
	out := &corev1.Pod{}
	if err := json.Unmarshal(merged, out); err != nil {
		return nil, fmt.Errorf("error applying --overrides: %v", err)
	}
	out.Kind, out.APIVersion = "Pod", "v1"
	return out, nil
}

// mergePatch merges patch into doc: objects merge key by key, null deletes,
// anything else replaces.
func mergePatch(doc, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, ok := doc.(map[string]any)
	if !ok {
		d = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(d, k)
			continue
		}
		d[k] = mergePatch(d[k], v)
	}
	return d
}
