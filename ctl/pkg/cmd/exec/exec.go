// Package exec is `navctl exec`: run a command in a container through the
// apiserver's pods/exec subresource (which the kubelet serves), with the
// session streamed over WebSocket or SPDY.
package exec

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const execExample = `  # Get output from running the 'date' command from pod mypod, using the first container by default
  navctl exec mypod -- date

  # Get output from running the 'date' command in ruby-container from pod mypod
  navctl exec mypod -c ruby-container -- date

  # Switch to raw terminal mode; sends stdin to 'bash' in ruby-container from pod mypod
  # and sends stdout/stderr from 'bash' back to the client
  navctl exec mypod -c ruby-container -i -t -- bash -il

  # List contents of /usr from the first container of pod mypod and sort by modification time
  # If the command you want to execute in the pod has any flags in common (e.g. -i),
  # you must use two dashes (--) to separate your command's flags/arguments
  # Also note, do not surround your command and its flags/arguments with quotes
  # unless that is how you would execute it normally (i.e., do ls -t /usr, not "ls -t /usr")
  navctl exec mypod -i -t -- ls -t /usr

  # Get output from running 'date' command from the first pod of the deployment mydeployment, using the first container by default
  navctl exec deploy/mydeployment -- date

  # Get output from running 'date' command from the first pod of the service myservice, using the first container by default
  navctl exec svc/myservice -- date`

// NewCommand returns `navctl exec`.
func NewCommand(f *factory.Factory) *cobra.Command {
	var (
		container  string
		stdin, tty bool
		quiet      bool
		filenames  []string
		podTimeout time.Duration
	)
	cmd := &cobra.Command{
		Use:                   "exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...]",
		DisableFlagsInUseLine: true,
		Short:                 "Execute a command in a container",
		Long:                  "Execute a command in a container.",
		Example:               execExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			target := ""
			if len(args) > 0 && dash != 0 {
				target = args[0]
			}
			var command []string
			if dash > -1 {
				command = args[dash:]
			} else if len(args) > 1 || (len(args) > 0 && len(filenames) != 0) {
				return cli.CmdUsagef(cmd.CommandPath(), "exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
			}
			if podTimeout <= 0 {
				return cli.CmdUsagef(cmd.CommandPath(), "--pod-running-timeout must be higher than zero")
			}
			if target == "" && len(filenames) == 0 {
				return errors.New("pod, type/name or --filename must be specified")
			}
			if len(command) == 0 {
				return errors.New("you must specify at least one command for the container")
			}
			pod, err := Pod(cmd, f, target, filenames, podTimeout)
			if err != nil {
				return err
			}
			if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
				return fmt.Errorf("cannot exec into a container in a completed pod; current phase is %s", pod.Status.Phase)
			}
			// A named container is left to the server to find.
			if container == "" {
				c, err := resource.DefaultContainer(pod, "", quiet, f.IO.ErrOut)
				if err != nil {
					return err
				}
				container = c.Name
			}
			so := StreamOptions{Stdin: stdin, TTY: tty, Quiet: quiet, IO: f.IO}
			so.Terminal()
			client, err := f.Clientset()
			if err != nil {
				return err
			}
			config, err := f.RESTConfig()
			if err != nil {
				return err
			}
			req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("exec").
				VersionedParams(&corev1.PodExecOptions{
					Container: container,
					Command:   command,
					Stdin:     so.Stdin,
					Stdout:    true,
					Stderr:    !so.TTY,
					TTY:       so.TTY,
				}, scheme.ParameterCodec)
			return Stream(cmd.Context(), config, req.URL(), so)
		},
	}
	cmd.Flags().StringVarP(&container, "container", "c", "", "Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation for selecting the container to be attached or the first container in the pod will be chosen")
	cmd.Flags().BoolVarP(&stdin, "stdin", "i", false, "Pass stdin to the container")
	cmd.Flags().BoolVarP(&tty, "tty", "t", false, "Stdin is a TTY")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only print output from the remote session")
	cmd.Flags().StringSliceVarP(&filenames, "filename", "f", nil, "to use to exec into the resource")
	cmd.Flags().DurationVar(&podTimeout, "pod-running-timeout", time.Minute, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	return cmd
}

// Pod finds the pod a session is with: the named pod, the first pod of a
// TYPE/NAME, or of the object in a manifest.
func Pod(cmd *cobra.Command, f *factory.Factory, target string, filenames []string, timeout time.Duration) (*corev1.Pod, error) {
	ctx := cmd.Context()
	ns, _, err := f.Namespace()
	if err != nil {
		return nil, err
	}
	mapper, err := f.Mapper()
	if err != nil {
		return nil, err
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, err
	}
	client, err := f.Clientset()
	if err != nil {
		return nil, err
	}
	if target == "" {
		manifests, err := resource.ReadManifests(filenames, false, f.IO.In)
		if err != nil {
			return nil, err
		}
		if len(manifests) != 1 {
			return nil, errors.New("cannot exec into multiple objects at a time")
		}
		u := manifests[0].Object
		target = u.GetKind() + "/" + u.GetName()
		if u.GetNamespace() != "" {
			ns = u.GetNamespace()
		}
	}
	obj, err := resource.Object(ctx, mapper, dyn, ns, target, "pods")
	if err != nil {
		return nil, err
	}
	pod, _, err := resource.PodForObject(ctx, client, obj, timeout)
	if err != nil {
		if obj.GetKind() != "Pod" && !errors.Is(err, resource.ErrPodTimeout) {
			return nil, fmt.Errorf("cannot attach to %s: %v", resource.GoType(obj), err)
		}
		return nil, err
	}
	return pod, nil
}
