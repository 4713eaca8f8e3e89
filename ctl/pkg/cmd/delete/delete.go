// Package delete is `navctl delete`: deleting the objects of manifests, or
// objects named by type and name, label or field selector, or --all, with
// kubectl's grace period, force, cascade and wait semantics.
package delete

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const deleteLong = `Delete resources by file names, stdin, resources and names, or by resources and label selector.

 JSON and YAML formats are accepted. Only one type of argument may be specified: file names, resources and names, or resources and label selector.

 Some resources, such as pods, support graceful deletion. These resources define a default period before they are forcibly terminated (the grace period) but you may override that value with the --grace-period flag, or pass --now to set a grace-period of 1. Because these resources often represent entities in the cluster, deletion may not be acknowledged immediately. If the node hosting a pod is down or cannot reach the API server, termination may take significantly longer than the grace period. To force delete a resource, you must specify the --force flag. Note: only a subset of resources support graceful deletion. In absence of the support, the --grace-period flag is ignored.

 IMPORTANT: Force deleting pods does not wait for confirmation that the pod's processes have been terminated, which can leave those processes running until the node detects the deletion and completes graceful deletion. If your processes use shared storage or talk to a remote API and depend on the name of the pod to identify themselves, force deleting those pods may result in multiple processes running on different machines using the same identification which may lead to data corruption or inconsistency. Only force delete pods when you are sure the pod is terminated, or if your application can tolerate multiple copies of the same pod running at once. Also, if you force delete pods, the scheduler may place new pods on those nodes before the node has released those resources and causing those pods to be evicted immediately.

 Note that the delete command does NOT do resource version checks, so if someone submits an update to a resource right when you submit a delete, their update will be lost along with the rest of the resource.`

const deleteExample = `  # Delete a pod using the type and name specified in pod.json
  navctl delete -f ./pod.json

  # Delete a pod based on the type and name in the JSON passed into stdin
  cat pod.json | navctl delete -f -

  # Delete pods and services with same names "baz" and "foo"
  navctl delete pod,service baz foo

  # Delete pods and services with label name=myLabel
  navctl delete pods,services -l name=myLabel

  # Delete a pod with minimal delay
  navctl delete pod foo --now

  # Force delete a pod on a dead node
  navctl delete pod foo --force

  # Delete all pods
  navctl delete pods --all

  # Delete all pods only if the user confirms the deletion
  navctl delete pods --all --interactive`

const forceWarning = "Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated. The resource may continue to run on the cluster indefinitely.\n"

type options struct {
	sel            resource.Selection
	cascade        string
	gracePeriod    int
	force          bool
	now            bool
	wait           bool
	timeout        time.Duration
	ignoreNotFound bool
	interactive    bool
	output         string
	dryRun         string

	propagation metav1.DeletionPropagation
}

// NewCommand returns `navctl delete`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:                   "delete ([-f FILENAME] | TYPE [(NAME | -l label | --all)])",
		DisableFlagsInUseLine: true,
		Short:                 "Delete resources by file names, stdin, resources and names, or by resources and label selector",
		Long:                  deleteLong,
		Example:               deleteExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.complete(cmd, f, args); err != nil {
				return err
			}
			return o.run(cmd.Context(), f, args)
		},
	}
	fs := cmd.Flags()
	o.sel.Files.AddFlags(fs, "containing the resource to delete.")
	o.sel.AddSelectorFlags(fs, "Delete all resources, in the namespace of the specified resource types.")
	fs.Lookup("all-namespaces").Usage = "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace."
	fs.StringVar(&o.cascade, "cascade", "background", `Must be "background", "orphan", or "foreground". Selects the deletion cascading strategy for the dependents (e.g. Pods created by a ReplicationController). Defaults to background.`)
	fs.Lookup("cascade").NoOptDefVal = "background"
	fs.IntVar(&o.gracePeriod, "grace-period", -1, "Period of time in seconds given to the resource to terminate gracefully. Ignored if negative. Set to 1 for immediate shutdown. Can only be set to 0 when --force is true (force deletion).")
	fs.BoolVar(&o.force, "force", false, "If true, immediately remove resources from API and bypass graceful deletion. Note that immediate deletion of some resources may result in inconsistency or data loss and requires confirmation.")
	fs.BoolVar(&o.now, "now", false, "If true, resources are signaled for immediate shutdown (same as --grace-period=1).")
	fs.BoolVar(&o.wait, "wait", true, "If true, wait for resources to be gone before returning. This waits for finalizers.")
	fs.DurationVar(&o.timeout, "timeout", 0, "The length of time to wait before giving up on a delete, zero means determine a timeout from the size of the object")
	fs.BoolVar(&o.ignoreNotFound, "ignore-not-found", false, `Treat "resource not found" as a successful delete. Defaults to "true" when --all is specified.`)
	fs.BoolVarP(&o.interactive, "interactive", "i", false, "If true, delete resource only when user confirms.")
	fs.StringVarP(&o.output, "output", "o", "", `Output mode. Use "-o name" for shorter output (resource/name).`)
	cli.AddDryRunFlag(fs, &o.dryRun)
	o.sel.Stdin = f.IO.In
	return cmd
}

func (o *options) complete(cmd *cobra.Command, f *factory.Factory, args []string) error {
	var err error
	if o.dryRun, err = cli.DryRunStrategy(o.dryRun); err != nil {
		return err
	}
	if o.propagation, err = o.cascadeStrategy(f); err != nil {
		return err
	}
	if o.output != "" && o.output != "name" {
		return fmt.Errorf("unexpected -o output mode: %s. We only support '-o name'", o.output)
	}
	if o.sel.All && o.sel.LabelSelector != "" {
		return errors.New("setting 'all' parameter but found a non empty selector. ")
	}
	if len(o.sel.Files.Filenames) > 0 && len(args) > 0 {
		return errors.New("when paths, URLs, or stdin is provided as input, you may not specify resource arguments as well")
	}
	if (o.sel.LabelSelector != "" || o.sel.FieldSelector != "") && namesGiven(args) {
		return errors.New("name cannot be provided when a selector is specified")
	}
	if o.sel.All && !cmd.Flags().Changed("ignore-not-found") {
		o.ignoreNotFound = true
	}
	if o.now {
		if o.gracePeriod != -1 {
			return errors.New("--now and --grace-period cannot be specified together")
		}
		o.gracePeriod = 1
	}
	if o.gracePeriod == 0 && !o.force {
		// kubectl turns --grace-period=0 into 1 unless --force is given, so
		// that a typo does not skip graceful deletion.
		o.gracePeriod = 1
	}
	if o.force && o.gracePeriod < 0 {
		o.gracePeriod = 0
	}
	return nil
}

// namesGiven reports whether args name objects ("TYPE NAME" or TYPE/NAME).
func namesGiven(args []string) bool {
	return len(args) > 1 || (len(args) == 1 && strings.Contains(args[0], "/"))
}

func (o *options) cascadeStrategy(f *factory.Factory) (metav1.DeletionPropagation, error) {
	switch o.cascade {
	case "background":
		return metav1.DeletePropagationBackground, nil
	case "foreground":
		return metav1.DeletePropagationForeground, nil
	case "orphan":
		return metav1.DeletePropagationOrphan, nil
	case "true":
		fmt.Fprintln(f.IO.ErrOut, "warning: --cascade=true is deprecated (boolean value) and can be replaced with --cascade=background.")
		return metav1.DeletePropagationBackground, nil
	case "false":
		fmt.Fprintln(f.IO.ErrOut, "warning: --cascade=false is deprecated (boolean value) and can be replaced with --cascade=orphan.")
		return metav1.DeletePropagationOrphan, nil
	}
	return "", fmt.Errorf(`invalid cascade value (%s). Must be "background", "foreground", or "orphan"`, o.cascade)
}

func (o *options) run(ctx context.Context, f *factory.Factory, args []string) error {
	infos, errs, err := o.sel.Resolve(ctx, f, args, false)
	if err != nil {
		return err
	}
	if len(infos) == 0 && len(errs) == 0 {
		fmt.Fprintln(f.IO.Out, "No resources found")
		return nil
	}
	if o.interactive && !o.confirm(f, infos) {
		fmt.Fprintln(f.IO.Out, "deletion is cancelled")
		return nil
	}
	if o.gracePeriod == 0 && o.force {
		fmt.Fprint(f.IO.ErrOut, forceWarning)
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return err
	}
	opts := metav1.DeleteOptions{PropagationPolicy: &o.propagation}
	if o.gracePeriod >= 0 {
		gp := int64(o.gracePeriod)
		opts.GracePeriodSeconds = &gp
	}
	if o.dryRun == cli.DryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var gone []*resource.Info
	var failures []error
	for _, info := range infos {
		if o.dryRun != cli.DryRunClient {
			err := info.Client(dyn).Delete(ctx, info.Name, opts)
			if apierrors.IsNotFound(err) && o.ignoreNotFound {
				continue
			}
			if err != nil {
				failures = append(failures, resource.WithSource("deleting", info.Source, err))
				continue
			}
		}
		o.printDeleted(f, info)
		if o.dryRun == cli.DryRunNone && o.wait {
			gone = append(gone, info)
		}
	}
	for _, err := range errs {
		if !(apierrors.IsNotFound(err) && o.ignoreNotFound) {
			failures = append(failures, err)
		}
	}
	if len(gone) > 0 {
		if err := WaitGone(ctx, dyn, gone, o.timeout); err != nil {
			failures = append(failures, err)
		}
	}
	return cli.Aggregate(failures)
}

// printDeleted prints `configmap "x" deleted from default namespace`, or
// with -o name `configmap/x`.
func (o *options) printDeleted(f *factory.Factory, info *resource.Info) {
	if o.output == "name" {
		fmt.Fprintln(f.IO.Out, info.KindName())
		return
	}
	fmt.Fprintln(f.IO.Out, DeletedMessage(info, o.gracePeriod == 0, o.dryRun))
}

// DeletedMessage is kubectl's line for a deleted object: `configmap "x"
// deleted from default namespace`, "force deleted" when the grace period was
// zero, and " (dry run)" or " (server dry run)" after it.
func DeletedMessage(info *resource.Info, force bool, dryRun string) string {
	gvk := info.Mapping.GroupVersionKind
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	op := "deleted"
	if force {
		op = "force deleted"
	}
	where := ""
	if info.Namespace != "" {
		where = " from " + info.Namespace + " namespace"
	}
	suffix := ""
	switch dryRun {
	case cli.DryRunClient:
		suffix = " (dry run)"
	case cli.DryRunServer:
		suffix = " (server dry run)"
	}
	return fmt.Sprintf("%s %q %s%s%s", kind, info.Name, op, where, suffix)
}

// confirm asks before an interactive delete; only "y" goes on.
func (o *options) confirm(f *factory.Factory, infos []*resource.Info) bool {
	fmt.Fprintf(f.IO.Out, "You are about to delete the following %d resource(s):\n", len(infos))
	for _, info := range infos {
		fmt.Fprintln(f.IO.Out, info.KindName())
	}
	fmt.Fprint(f.IO.Out, "Do you want to continue? (y/N): ")
	line, _ := bufio.NewReader(f.IO.In).ReadString('\n')
	return strings.ToLower(strings.TrimSpace(line)) == "y"
}

// WaitGone waits until each deleted object is gone from the server (its
// finalizers done, a graceful pod terminated) or replaced by a new object of
// the same name. A timeout of zero waits as long as kubectl does: a week.
func WaitGone(ctx context.Context, dyn dynamic.Interface, infos []*resource.Info, timeout time.Duration) error {
	if timeout == 0 {
		timeout = 7 * 24 * time.Hour
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var errs []error
	for _, info := range infos {
		if err := waitOne(ctx, dyn, info); err != nil {
			errs = append(errs, err)
		}
	}
	return cli.Aggregate(errs)
}

func waitOne(ctx context.Context, dyn dynamic.Interface, info *resource.Info) error {
	client := info.Client(dyn)
	var uid types.UID
	delay := 50 * time.Millisecond
	for {
		obj, err := client.Get(ctx, info.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("timed out waiting for the condition on %s", info.ObjectName())
		case err != nil:
			return err
		case obj.GetDeletionTimestamp() == nil && uid == "":
			// A new object of the same name, made after ours was deleted.
			return nil
		case uid != "" && obj.GetUID() != uid:
			return nil
		}
		uid = obj.GetUID()
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for the condition on %s", info.ObjectName())
		case <-time.After(delay):
		}
		if delay < time.Second {
			delay *= 2
		}
	}
}
