// Package attach is `navctl attach`: join the streams of a container's main
// process through the apiserver's pods/attach subresource.
package attach

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"

	execcmd "navarch.dev/ctl/pkg/cmd/exec"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const attachExample = `  # Get output from running pod mypod; use the 'kubectl.kubernetes.io/default-container' annotation
  # for selecting the container to be attached or the first container in the pod will be chosen
  navctl attach mypod

  # Get output from ruby-container from pod mypod
  navctl attach mypod -c ruby-container

  # Switch to raw terminal mode; sends stdin to 'bash' in ruby-container from pod mypod
  # and sends stdout/stderr from 'bash' back to the client
  navctl attach mypod -c ruby-container -i -t

  # Get output from the first pod of a replica set named nginx
  navctl attach rs/nginx`

// NewCommand returns `navctl attach`.
func NewCommand(f *factory.Factory) *cobra.Command {
	var (
		container  string
		stdin, tty bool
		quiet      bool
		podTimeout time.Duration
	)
	cmd := &cobra.Command{
		Use:                   "attach (POD | TYPE/NAME) -c CONTAINER",
		DisableFlagsInUseLine: true,
		Short:                 "Attach to a running container",
		Long:                  "Attach to a process that is already running inside an existing container.",
		Example:               attachExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return errors.New("at least 1 argument is required for attach")
			case len(args) > 2:
				return fmt.Errorf("expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) saw %d: %v", len(args), args)
			case podTimeout <= 0:
				return errors.New("--pod-running-timeout must be higher than zero")
			}
			target := args[0]
			if len(args) == 2 {
				target = args[0] + "/" + args[1]
			}
			pod, err := execcmd.Pod(cmd, f, target, nil, podTimeout)
			if err != nil {
				return err
			}
			if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
				return fmt.Errorf("cannot attach a container in a completed pod; current phase is %s", pod.Status.Phase)
			}
			c, err := resource.DefaultContainer(pod, container, quiet, f.IO.ErrOut)
			if err != nil {
				return fmt.Errorf("cannot attach to the container: %v", err)
			}
			// The terminal is the container's: follow what it allocated.
			if tty && !c.TTY {
				tty = false
				if !quiet {
					fmt.Fprintf(f.IO.ErrOut, "error: Unable to use a TTY - container %s did not allocate one\n", c.Name)
				}
			} else if !tty && c.TTY {
				tty = true
			}
			so := execcmd.StreamOptions{Stdin: stdin, TTY: tty, Quiet: quiet, IO: f.IO}
			raw := so.Terminal()
			if !quiet {
				fmt.Fprintln(f.IO.ErrOut, "All commands and output from this session will be recorded in container logs, including credentials and sensitive information passed through the command prompt.")
				fmt.Fprintln(f.IO.ErrOut, "If you don't see a command prompt, try pressing enter.")
			}
			client, err := f.Clientset()
			if err != nil {
				return err
			}
			config, err := f.RESTConfig()
			if err != nil {
				return err
			}
			req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("attach").
				VersionedParams(&corev1.PodAttachOptions{
					Container: c.Name,
					Stdin:     so.Stdin,
					Stdout:    true,
					Stderr:    !raw,
					TTY:       raw,
				}, scheme.ParameterCodec)
			if err := execcmd.Stream(cmd.Context(), config, req.URL(), so); err != nil {
				return err
			}
			if !quiet && stdin && raw && pod.Spec.RestartPolicy == corev1.RestartPolicyAlways {
				if isEphemeral(pod, c.Name) {
					fmt.Fprintf(f.IO.Out, "Session ended, the ephemeral container will not be restarted but may be reattached using '%s %s -c %s -i -t' if it is still running\n", cmd.CommandPath(), pod.Name, c.Name)
				} else {
					fmt.Fprintf(f.IO.Out, "Session ended, resume using '%s %s -c %s -i -t' command when the pod is running\n", cmd.CommandPath(), pod.Name, c.Name)
				}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&podTimeout, "pod-running-timeout", time.Minute, "The length of time (like 5s, 2m, or 3h, higher than zero) to wait until at least one pod is running")
	cmd.Flags().StringVarP(&container, "container", "c", "", "Container name. If omitted, use the kubectl.kubernetes.io/default-container annotation for selecting the container to be attached or the first container in the pod will be chosen")
	cmd.Flags().BoolVarP(&stdin, "stdin", "i", false, "Pass stdin to the container")
	cmd.Flags().BoolVarP(&tty, "tty", "t", false, "Stdin is a TTY")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only print output from the remote session")
	return cmd
}

func isEphemeral(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}
