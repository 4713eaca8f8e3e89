// Package logs is `navctl logs`: a container's log, read through the
// apiserver's pods/log subresource (which the kubelet serves).
package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const logsExample = `  # Return snapshot logs from pod nginx with only one container
  navctl logs nginx

  # Return snapshot logs from pod nginx, prefixing each line with the source pod and container names
  navctl logs nginx --prefix

  # Return snapshot logs from pod nginx, limiting output to 500 bytes
  navctl logs nginx --limit-bytes=500

  # Return snapshot logs from pod nginx, waiting up to 20 seconds for it to start running.
  navctl logs nginx --pod-running-timeout=20s

  # Return snapshot logs from pod nginx with multi containers
  navctl logs nginx --all-containers=true

  # Return snapshot logs from all pods in the deployment nginx
  navctl logs deployment/nginx --all-pods=true

  # Return snapshot logs from all containers in pods defined by label app=nginx
  navctl logs -l app=nginx --all-containers=true

  # Return snapshot of previous terminated ruby container logs from pod web-1
  navctl logs -p -c ruby web-1

  # Begin streaming the logs from pod nginx, continuing even if errors occur
  navctl logs nginx -f --ignore-errors=true

  # Begin streaming the logs of the ruby container in pod web-1
  navctl logs -f -c ruby web-1

  # Begin streaming the logs from all containers in pods defined by label app=nginx
  navctl logs -f -l app=nginx --all-containers=true

  # Display only the most recent 20 lines of output in pod nginx
  navctl logs --tail=20 nginx

  # Show all logs from pod nginx written in the last hour
  navctl logs --since=1h nginx

  # Return snapshot logs from first container of a job named hello
  navctl logs job/hello

  # Return snapshot logs from container nginx-1 of a deployment named nginx
  navctl logs deployment/nginx -c nginx-1`

const usageErr = "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command"

type options struct {
	allPods, allContainers bool
	follow, timestamps     bool
	previous, prefix       bool
	ignoreErrors           bool
	insecureBackend        bool
	limitBytes, tail       int64
	sinceTime              string
	since                  time.Duration
	container              string
	selector               string
	podTimeout             time.Duration
	maxFollow              int
}

// NewCommand returns `navctl logs`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{tail: -1, maxFollow: 5, podTimeout: 20 * time.Second}
	cmd := &cobra.Command{
		Use:                   "logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]",
		DisableFlagsInUseLine: true,
		Short:                 "Print the logs for a container in a pod",
		Long:                  "Print the logs for a container in a pod or specified resource. If the pod has only one container, the container name is optional.",
		Example:               logsExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, f, args)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.allPods, "all-pods", false, "Get logs from all pod(s). Sets prefix to true.")
	fl.BoolVar(&o.allContainers, "all-containers", false, "Get all containers' logs in the pod(s).")
	fl.BoolVarP(&o.follow, "follow", "f", false, "Specify if the logs should be streamed.")
	fl.BoolVar(&o.timestamps, "timestamps", false, "Include timestamps on each line in the log output")
	fl.Int64Var(&o.limitBytes, "limit-bytes", 0, "Maximum bytes of logs to return. Defaults to no limit.")
	fl.BoolVarP(&o.previous, "previous", "p", false, "If true, print the logs for the previous instance of the container in a pod if it exists.")
	fl.Int64Var(&o.tail, "tail", -1, "Lines of recent log file to display. Defaults to -1 with no selector, showing all log lines otherwise 10, if a selector is provided.")
	fl.BoolVar(&o.ignoreErrors, "ignore-errors", false, "If watching / following pod logs, allow for any errors that occur to be non-fatal")
	fl.StringVar(&o.sinceTime, "since-time", "", "Only return logs after a specific date (RFC3339). Defaults to all logs. Only one of since-time / since may be used.")
	fl.DurationVar(&o.since, "since", 0, "Only return logs newer than a relative duration like 5s, 2m, or 3h. Defaults to all logs. Only one of since-time / since may be used.")
	fl.StringVarP(&o.container, "container", "c", "", "Print the logs of this container")
	fl.BoolVar(&o.insecureBackend, "insecure-skip-tls-verify-backend", false, "Skip verifying the identity of the kubelet that logs are requested from.  In theory, an attacker could provide invalid log content back. You might want to use this if your kubelet serving certificates have expired.")
	fl.DurationVar(&o.podTimeout, "pod-running-timeout", 20*time.Second, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	fl.StringVarP(&o.selector, "selector", "l", "", "Selector (label query) to filter on, supports '=', '==', '!=', 'in', 'notin'.(e.g. -l key1=value1,key2=value2,key3 in (value3)). Matching objects must satisfy all of the specified label constraints.")
	fl.IntVar(&o.maxFollow, "max-log-requests", 5, "Specify maximum number of concurrent logs to follow when using by a selector. Defaults to 5.")
	fl.BoolVar(&o.prefix, "prefix", false, "Prefix each log line with the log source (pod name and container name)")
	return cmd
}

// stream is one container's log to read.
type stream struct {
	pod, container string
	req            *rest.Request
}

func (o *options) run(cmd *cobra.Command, f *factory.Factory, args []string) error {
	usage := func(format string, a ...any) error { return cli.CmdUsagef(cmd.CommandPath(), format, a...) }
	containerFlag := cmd.Flags().Changed("container")
	var target string
	switch len(args) {
	case 0:
		if o.selector == "" {
			return usage("%s", usageErr)
		}
	case 1:
		target = args[0]
		if o.selector != "" {
			return usage("only a selector (-l) or a POD name is allowed")
		}
	case 2:
		target, o.container = args[0], args[1]
	default:
		return usage("%s", usageErr)
	}
	if o.allPods {
		o.prefix = true
	}
	if o.podTimeout <= 0 {
		return usage("--pod-running-timeout must be higher than zero")
	}
	opts, err := o.logOptions(cmd)
	if err != nil {
		return err
	}
	switch {
	case o.sinceTime != "" && o.since != 0:
		return errors.New("at most one of `sinceTime` or `sinceSeconds` may be specified")
	case o.allContainers && opts.Container != "":
		return fmt.Errorf("--all-containers=true should not be specified with container name %s", opts.Container)
	case containerFlag && len(args) == 2:
		return errors.New("only one of -c or an inline [CONTAINER] arg is allowed")
	case o.limitBytes < 0:
		return errors.New("--limit-bytes must be greater than 0")
	case o.since < 0:
		return errors.New("--since must be greater than 0")
	case opts.TailLines != nil && *opts.TailLines < -1:
		return errors.New("--tail must be greater than or equal to -1")
	}

	ctx := cmd.Context()
	ns, _, err := f.Namespace()
	if err != nil {
		return err
	}
	c, err := f.Clientset()
	if err != nil {
		return err
	}
	var pods []corev1.Pod
	warnDefault := true
	if o.selector != "" {
		list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: o.selector})
		if err != nil {
			return err
		}
		if len(list.Items) == 0 {
			fmt.Fprintf(f.IO.ErrOut, "No resources found in %s namespace.\n", ns)
		}
		pods = list.Items
	} else {
		mapper, err := f.Mapper()
		if err != nil {
			return err
		}
		dyn, err := f.Dynamic()
		if err != nil {
			return err
		}
		obj, err := resource.Object(ctx, mapper, dyn, ns, target, "pods")
		if err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("error from server (NotFound): %v in namespace %q", err, ns)
			}
			return err
		}
		if o.allPods && obj.GetKind() != "Pod" {
			sel, err := resource.SelectorForObject(obj)
			if err != nil {
				return fmt.Errorf("cannot get the logs from %s: %v", resource.GoType(obj), err)
			}
			list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
			if err != nil {
				return err
			}
			pods, warnDefault = list.Items, false
		} else {
			pod, n, err := resource.PodForObject(ctx, c, obj, o.podTimeout)
			if err != nil {
				if obj.GetKind() != "Pod" && !errors.Is(err, resource.ErrPodTimeout) {
					return fmt.Errorf("cannot get the logs from %s: %v", resource.GoType(obj), err)
				}
				return err
			}
			if n > 1 {
				fmt.Fprintf(f.IO.ErrOut, "Found %v pods, using pod/%v\n", n, pod.Name)
			}
			pods = []corev1.Pod{*pod}
		}
	}

	var streams []stream
	for i := range pods {
		s, err := o.streams(c, &pods[i], opts, warnDefault, f.IO.ErrOut)
		if err != nil {
			return err
		}
		streams = append(streams, s...)
	}
	if o.follow && len(streams) > 1 {
		if len(streams) > o.maxFollow {
			return fmt.Errorf("you are attempting to follow %d log streams, but maximum allowed concurrency is %d, use --max-log-requests to increase the limit", len(streams), o.maxFollow)
		}
		return o.parallel(ctx, f.IO.Out, streams)
	}
	for _, s := range streams {
		if err := o.consume(ctx, s, o.prefixed(s, f.IO.Out)); err != nil {
			if !o.ignoreErrors {
				return err
			}
			fmt.Fprintf(f.IO.Out, "error: %v\n", err)
		}
	}
	return nil
}

func (o *options) logOptions(cmd *cobra.Command) (*corev1.PodLogOptions, error) {
	opts := &corev1.PodLogOptions{
		Container:                    o.container,
		Follow:                       o.follow,
		Previous:                     o.previous,
		Timestamps:                   o.timestamps,
		InsecureSkipTLSVerifyBackend: o.insecureBackend,
	}
	if o.sinceTime != "" {
		t, err := time.Parse(time.RFC3339, o.sinceTime)
		if err != nil {
			return nil, err
		}
		mt := metav1.NewTime(t)
		opts.SinceTime = &mt
	}
	if o.limitBytes != 0 {
		opts.LimitBytes = &o.limitBytes
	}
	if o.since != 0 {
		sec := int64(o.since.Round(time.Second).Seconds())
		opts.SinceSeconds = &sec
	}
	if o.selector != "" && o.tail == -1 && !cmd.Flags().Changed("tail") {
		ten := int64(10)
		opts.TailLines = &ten
	} else if o.tail != -1 {
		opts.TailLines = &o.tail
	}
	return opts, nil
}

// streams lists the log requests for a pod: the chosen container, or with
// --all-containers every init, regular and ephemeral container.
func (o *options) streams(c kubernetes.Interface, pod *corev1.Pod, opts *corev1.PodLogOptions, warnDefault bool, errOut io.Writer) ([]stream, error) {
	one := func(name string) stream {
		co := opts.DeepCopy()
		co.Container = name
		return stream{pod: pod.Name, container: name, req: c.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, co)}
	}
	if o.allContainers {
		var out []stream
		for _, ct := range pod.Spec.InitContainers {
			out = append(out, one(ct.Name))
		}
		for _, ct := range pod.Spec.Containers {
			out = append(out, one(ct.Name))
		}
		for _, ct := range pod.Spec.EphemeralContainers {
			out = append(out, one(ct.Name))
		}
		return out, nil
	}
	name := opts.Container
	if name == "" {
		if def := pod.Annotations[resource.DefaultContainerAnnotation]; def != "" {
			if resource.FindContainer(pod, def) == nil {
				fmt.Fprintf(errOut, "Default container name %q not found in pod %s\n", def, pod.Name)
			} else {
				name = def
			}
		}
	}
	if name == "" {
		if len(pod.Spec.Containers) == 0 {
			return nil, fmt.Errorf("pod %s/%s does not have any containers", pod.Namespace, pod.Name)
		}
		name = pod.Spec.Containers[0].Name
		if warnDefault && (len(pod.Spec.Containers) > 1 || len(pod.Spec.InitContainers) > 0 || len(pod.Spec.EphemeralContainers) > 0) {
			fmt.Fprintf(errOut, "Defaulted container %q out of: %s\n", name, resource.AllContainerNames(pod))
		}
	}
	if resource.FindContainer(pod, name) == nil {
		return nil, fmt.Errorf("container %s is not valid for pod %s", name, pod.Name)
	}
	return []stream{one(name)}, nil
}

// consume copies one log to out line by line.
func (o *options) consume(ctx context.Context, s stream, out io.Writer) error {
	rc, err := s.req.Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	r := bufio.NewReader(rc)
	for {
		line, err := r.ReadBytes('\n')
		if _, werr := out.Write(line); werr != nil {
			return werr
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// parallel follows several logs at once, interleaving whole lines.
func (o *options) parallel(ctx context.Context, out io.Writer, streams []stream) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	locked := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	})
	errs := make(chan error, len(streams))
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Add(1)
		go func(s stream) {
			defer wg.Done()
			if err := o.consume(ctx, s, o.prefixed(s, locked)); err != nil {
				if !o.ignoreErrors {
					errs <- err
					cancel()
					return
				}
				fmt.Fprintf(locked, "error: %v\n", err)
			}
		}(s)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// prefixed puts "[pod/NAME/CONTAINER] " before each line with --prefix.
func (o *options) prefixed(s stream, w io.Writer) io.Writer {
	if !o.prefix {
		return w
	}
	prefix := []byte(fmt.Sprintf("[pod/%s/%s] ", s.pod, s.container))
	return writerFunc(func(p []byte) (int, error) {
		if len(p) == 0 {
			return 0, nil
		}
		if _, err := w.Write(append(append([]byte{}, prefix...), p...)); err != nil {
			return 0, err
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
