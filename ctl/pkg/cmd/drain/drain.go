package drain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
)

const drainLong = `Drain node in preparation for maintenance.

The given node will be marked unschedulable to prevent new pods from arriving. 'drain' evicts the pods if the API server supports eviction (https://kubernetes.io/docs/concepts/workloads/pods/disruptions/). Otherwise, it will use normal DELETE to delete the pods. The 'drain' evicts or deletes all pods except mirror pods (which cannot be deleted through the API server).  If there are daemon set-managed pods, drain will not proceed without --ignore-daemonsets, and regardless it will not delete any daemon set-managed pods, because those pods would be immediately replaced by the daemon set controller, which ignores unschedulable markings.  If there are any pods that are neither mirror pods nor managed by a replication controller, replica set, daemon set, stateful set, or job, then drain will not delete any pods unless you use --force.  --force will also allow deletion to proceed if the managing resource of one or more pods is missing.

'drain' waits for graceful termination. You should not operate on the machine until the command completes.

When you are ready to put the node back into service, use navctl uncordon, which will make the node schedulable again.`

const drainExample = `  # Drain node "foo", even if there are pods not managed by a replication controller, replica set, job, daemon set, or stateful set on it
  navctl drain foo --force

  # As above, but abort if there are pods not managed by a replication controller, replica set, job, daemon set, or stateful set, and use a grace period of 15 minutes
  navctl drain foo --grace-period=900`

// Why a pod may not simply be evicted; kubectl's wording.
const (
	daemonSetFatal      = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
	daemonSetWarning    = "ignoring DaemonSet-managed Pods"
	localStorageFatal   = "Pods with local storage (use --delete-emptydir-data to override)"
	localStorageWarning = "deleting Pods with local storage"
	unmanagedFatal      = "cannot delete Pods that declare no controller (use --force to override)"
	unmanagedWarning    = "deleting Pods that declare no controller"
)

type drainOptions struct {
	nodeFlags
	force              bool
	ignoreDaemonSets   bool
	deleteEmptyDirData bool
	disableEviction    bool
	gracePeriod        int
	timeout            time.Duration
	podSelector        string
	skipWaitTimeout    int
	chunkSize          int64

	client kubernetes.Interface
	io     cli.IOStreams
	out    *syncWriter
}

// NewCommand returns `navctl drain`.
func NewCommand(f *factory.Factory) *cobra.Command {
	o := &drainOptions{gracePeriod: -1, chunkSize: 500}
	cmd := &cobra.Command{
		Use:                   "drain NODE",
		DisableFlagsInUseLine: true,
		Short:                 "Drain node in preparation for maintenance",
		Long:                  drainLong,
		Example:               drainExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			dryRun, err := cli.DryRunStrategy(o.dryRun)
			if err != nil {
				return err
			}
			o.dryRun = dryRun
			if o.client, err = f.Clientset(); err != nil {
				return err
			}
			if o.podSelector != "" {
				if _, err := labels.Parse(o.podSelector); err != nil {
					return errors.New("--pod-selector=<pod_selector> must be a valid label selector")
				}
			}
			o.io = f.IO
			o.out = &syncWriter{w: f.IO.Out}
			ctx := cmd.Context()
			nodes, err := o.nodes(ctx, cmd, o.client, args)
			if err != nil {
				return err
			}
			return o.run(ctx, nodes)
		},
	}
	cmd.Flags().BoolVar(&o.force, "force", false, "Continue even if there are pods that do not declare a controller.")
	cmd.Flags().BoolVar(&o.ignoreDaemonSets, "ignore-daemonsets", false, "Ignore DaemonSet-managed pods.")
	cmd.Flags().BoolVar(&o.deleteEmptyDirData, "delete-emptydir-data", false, "Continue even if there are pods using emptyDir (local data that will be deleted when the node is drained).")
	cmd.Flags().IntVar(&o.gracePeriod, "grace-period", -1, "Period of time in seconds given to each pod to terminate gracefully. If negative, the default value specified in the pod will be used.")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 0, "The length of time to wait before giving up, zero means infinite")
	cmd.Flags().StringVar(&o.podSelector, "pod-selector", "", "Label selector to filter pods on the node")
	cmd.Flags().BoolVar(&o.disableEviction, "disable-eviction", false, "Force drain to use delete, even if eviction is supported. This will bypass checking PodDisruptionBudgets, use with caution.")
	cmd.Flags().IntVar(&o.skipWaitTimeout, "skip-wait-for-delete-timeout", 0, "If pod DeletionTimestamp older than N seconds, skip waiting for the pod.  Seconds must be greater than 0 to skip.")
	cmd.Flags().Int64Var(&o.chunkSize, "chunk-size", 500, "Return large lists in chunks rather than all at once. Pass 0 to disable. This flag is beta and may change in the future.")
	o.addFlags(cmd)
	return cmd
}

// run cordons the nodes, then drains them one after the other. A node that
// cannot be drained is reported and the next one is tried; the command fails
// if any node is left.
func (o *drainOptions) run(ctx context.Context, nodes []corev1.Node) error {
	setUnschedulable(ctx, o.client, cli.IOStreams{Out: o.out, ErrOut: o.io.ErrOut}, nodes, true, o.dryRun)
	var failed []error
	var pending []string
	for _, n := range nodes {
		if err := o.drainNode(ctx, n.Name); err != nil {
			fmt.Fprintf(o.io.ErrOut, "error: unable to drain node %q due to error: %s, continuing command...\n", n.Name, err)
			failed = append(failed, err)
			pending = append(pending, n.Name)
			continue
		}
		printNode(o.out, n.Name, "drained", o.dryRun)
	}
	if len(pending) == 0 {
		return nil
	}
	fmt.Fprintln(o.io.ErrOut, "There are pending nodes to be drained:")
	for _, name := range pending {
		fmt.Fprintf(o.io.ErrOut, " %s\n", name)
	}
	if len(failed) == 1 {
		return failed[0]
	}
	return &cli.MultiError{Errs: failed}
}

func (o *drainOptions) drainNode(ctx context.Context, node string) error {
	pods, warnings, errs := o.podsToDelete(ctx, node)
	if len(errs) > 0 {
		return &cli.MultiError{Errs: errs}
	}
	if warnings != "" {
		fmt.Fprintf(o.io.ErrOut, "Warning: %s\n", warnings)
	}
	if o.dryRun == cli.DryRunClient {
		for _, p := range pods {
			fmt.Fprintf(o.out, "evicting pod %s/%s (dry run)\n", p.Namespace, p.Name)
		}
		return nil
	}
	if err := o.deleteOrEvict(ctx, pods); err != nil {
		if left, _, _ := o.podsToDelete(ctx, node); len(left) > 0 {
			fmt.Fprintf(o.io.ErrOut, "There are pending pods in node %q when an error occurred: %v\n", node, err)
			for _, p := range left {
				fmt.Fprintf(o.io.ErrOut, "pod/%s\n", p.Name)
			}
		}
		return err
	}
	return nil
}

// verdict is what drain does with one pod.
type verdict struct {
	evict   bool
	warning string // why the pod is evicted or skipped anyway
	fatal   string // why the pod blocks the drain
}

var okay = verdict{evict: true}

// podsToDelete lists the node's pods and sorts them into those to evict,
// a warning line for those evicted or skipped with a caveat, and errors for
// those that block the drain (grouped by reason, as kubectl groups them).
func (o *drainOptions) podsToDelete(ctx context.Context, node string) ([]corev1.Pod, string, []error) {
	sel, err := labels.Parse(o.podSelector)
	if err != nil {
		return nil, "", []error{err}
	}
	opts := metav1.ListOptions{
		LabelSelector: sel.String(),
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String(),
		Limit:         o.chunkSize,
	}
	var all []corev1.Pod
	for {
		list, err := o.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, "", []error{err}
		}
		all = append(all, list.Items...)
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}

	var evict []corev1.Pod
	var warnOrder, fatalOrder []string
	warned, failed := map[string][]string{}, map[string][]string{}
	for _, pod := range all {
		v := o.judge(ctx, pod)
		ref := pod.Namespace + "/" + pod.Name
		switch {
		case v.fatal != "":
			if _, ok := failed[v.fatal]; !ok {
				fatalOrder = append(fatalOrder, v.fatal)
			}
			failed[v.fatal] = append(failed[v.fatal], ref)
		case v.warning != "":
			if _, ok := warned[v.warning]; !ok {
				warnOrder = append(warnOrder, v.warning)
			}
			warned[v.warning] = append(warned[v.warning], ref)
		}
		if v.evict && v.fatal == "" {
			evict = append(evict, pod)
		}
	}
	var errs []error
	for _, msg := range fatalOrder {
		errs = append(errs, fmt.Errorf("cannot delete %s: %s", msg, strings.Join(failed[msg], ", ")))
	}
	var warnings []string
	for _, msg := range warnOrder {
		warnings = append(warnings, fmt.Sprintf("%s: %s", msg, strings.Join(warned[msg], ", ")))
	}
	return evict, strings.Join(warnings, "; "), errs
}

// judge runs kubectl's filters in its order. The first filter that keeps a
// pod decides; otherwise the last one's verdict (and warning) stands.
func (o *drainOptions) judge(ctx context.Context, pod corev1.Pod) verdict {
	filters := []func(context.Context, corev1.Pod) verdict{
		o.skipDeleted, o.daemonSetPods, mirrorPods, o.localStorage, o.unmanaged,
	}
	var v verdict
	for _, filter := range filters {
		if v = filter(ctx, pod); !v.evict {
			return v
		}
	}
	return v
}

func finished(pod corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// skipDeleted leaves pods whose deletion started longer ago than
// --skip-wait-for-delete-timeout: their node is likely gone.
func (o *drainOptions) skipDeleted(_ context.Context, pod corev1.Pod) verdict {
	if o.skipWaitTimeout > 0 && pod.DeletionTimestamp != nil &&
		time.Since(pod.DeletionTimestamp.Time) > time.Duration(o.skipWaitTimeout)*time.Second {
		return verdict{}
	}
	return okay
}

// daemonSetPods keeps DaemonSet pods on the node: their controller would
// recreate them at once. They block the drain unless --ignore-daemonsets; a pod
// whose DaemonSet is gone may go with --force.
func (o *drainOptions) daemonSetPods(ctx context.Context, pod corev1.Pod) verdict {
	ref := metav1.GetControllerOf(&pod)
	if ref == nil || ref.Kind != "DaemonSet" || ref.APIVersion != "apps/v1" || finished(pod) {
		return okay
	}
	if _, err := o.client.AppsV1().DaemonSets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) && o.force {
			return verdict{evict: true, warning: err.Error()}
		}
		return verdict{fatal: err.Error()}
	}
	if !o.ignoreDaemonSets {
		return verdict{fatal: daemonSetFatal}
	}
	return verdict{warning: daemonSetWarning}
}

// mirrorPods skips static pods' mirrors: the API cannot delete them.
func mirrorPods(_ context.Context, pod corev1.Pod) verdict {
	if _, ok := pod.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		return verdict{}
	}
	return okay
}

// localStorage protects emptyDir data unless --delete-emptydir-data.
func (o *drainOptions) localStorage(_ context.Context, pod corev1.Pod) verdict {
	hasEmptyDir := false
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil {
			hasEmptyDir = true
		}
	}
	if !hasEmptyDir || finished(pod) {
		return okay
	}
	if !o.deleteEmptyDirData {
		return verdict{fatal: localStorageFatal}
	}
	return verdict{evict: true, warning: localStorageWarning}
}

// unmanaged protects pods no controller would recreate unless --force.
func (o *drainOptions) unmanaged(_ context.Context, pod corev1.Pod) verdict {
	if finished(pod) || metav1.GetControllerOf(&pod) != nil {
		return okay
	}
	if o.force {
		return verdict{evict: true, warning: unmanagedWarning}
	}
	return verdict{fatal: unmanagedFatal}
}

func (o *drainOptions) deleteOptions() metav1.DeleteOptions {
	opts := metav1.DeleteOptions{}
	if o.gracePeriod >= 0 {
		g := int64(o.gracePeriod)
		opts.GracePeriodSeconds = &g
	}
	if o.dryRun == cli.DryRunServer {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return opts
}

// deleteOrEvict evicts the pods through pods/eviction when the server offers
// it (and --disable-eviction is not set), else deletes them, and waits until
// they are gone.
func (o *drainOptions) deleteOrEvict(ctx context.Context, pods []corev1.Pod) error {
	if len(pods) == 0 {
		return nil
	}
	timeout := o.timeout
	if timeout == 0 {
		timeout = time.Duration(math.MaxInt64)
	}
	if !o.disableEviction {
		ok, err := o.evictionSupported()
		if err != nil {
			return err
		}
		if ok {
			return o.evictAll(ctx, pods, timeout)
		}
	}
	return o.deleteAll(ctx, pods, timeout)
}

// evictionSupported asks discovery whether pods/eviction is served.
func (o *drainOptions) evictionSupported() (bool, error) {
	list, err := o.client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		return false, err
	}
	for _, r := range list.APIResources {
		if r.Name == "pods/eviction" && r.Kind == "Eviction" && r.Group != "" && r.Version != "" {
			return true, nil
		}
	}
	return false, nil
}

// evictAll evicts every pod at once and waits for each to go. An eviction
// refused for now (429: a disruption budget) is retried every 5s until the
// timeout.
func (o *drainOptions) evictAll(ctx context.Context, pods []corev1.Pod, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, len(pods))
	var wg sync.WaitGroup
	for i := range pods {
		wg.Add(1)
		go func(pod corev1.Pod) {
			defer wg.Done()
			errs[i] = o.evictOne(ctx, pod, timeout)
		}(pods[i])
	}
	wg.Wait()
	var failed []error
	for _, err := range errs {
		if err != nil {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &cli.MultiError{Errs: failed}
}

func (o *drainOptions) evictOne(ctx context.Context, pod corev1.Pod, timeout time.Duration) error {
	for {
		if o.dryRun == cli.DryRunServer {
			fmt.Fprintf(o.out, "evicting pod %s/%s (server dry run)\n", pod.Namespace, pod.Name)
		} else {
			fmt.Fprintf(o.out, "evicting pod %s/%s\n", pod.Namespace, pod.Name)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("error when evicting pods/%q -n %q: global timeout reached: %v", pod.Name, pod.Namespace, timeout)
		}
		opts := o.deleteOptions()
		err := o.client.PolicyV1().Evictions(pod.Namespace).Evict(ctx, &policyv1.Eviction{
			ObjectMeta:    metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
			DeleteOptions: &opts,
		})
		if err == nil {
			break
		}
		if apierrors.IsNotFound(err) {
			return nil
		}
		terminating := apierrors.IsForbidden(err) && apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
		switch {
		case terminating && pod.DeletionTimestamp != nil:
			// The namespace is going and takes the pod with it: just wait.
		case apierrors.IsTooManyRequests(err):
			fmt.Fprintf(o.io.ErrOut, "error when evicting pods/%q -n %q (will retry after 5s): %v\n", pod.Name, pod.Namespace, err)
			sleep(ctx, 5*time.Second)
			continue
		case terminating:
			fmt.Fprintf(o.io.ErrOut, "error when evicting pod %q from terminating namespace %q (will retry after 5s): %v\n", pod.Name, pod.Namespace, err)
			sleep(ctx, 5*time.Second)
			continue
		default:
			return fmt.Errorf("error when evicting pods/%q -n %q: %v", pod.Name, pod.Namespace, err)
		}
		break
	}
	if o.dryRun == cli.DryRunServer {
		return nil
	}
	if err := o.waitForDelete(ctx, []corev1.Pod{pod}, true); err != nil {
		return fmt.Errorf("error when waiting for pod %q in namespace %q to terminate: %v", pod.Name, pod.Namespace, err)
	}
	return nil
}

// deleteAll deletes the pods one by one and then waits for all of them.
func (o *drainOptions) deleteAll(ctx context.Context, pods []corev1.Pod, timeout time.Duration) error {
	for _, pod := range pods {
		err := o.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, o.deleteOptions())
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if o.dryRun == cli.DryRunServer {
		for _, pod := range pods {
			fmt.Fprintf(o.out, "pod/%s deleted (server dry run)\n", pod.Name)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return o.waitForDelete(ctx, pods, false)
}

// waitForDelete polls every second until each pod is gone (or replaced by a
// new pod of the same name), printing "pod/x evicted" (or "deleted") as each
// one goes.
func (o *drainOptions) waitForDelete(ctx context.Context, pods []corev1.Pod, evicted bool) error {
	verb, failure := "deleted", "deletion failed"
	if evicted {
		verb, failure = "evicted", "eviction failed"
	}
	for {
		var pending []corev1.Pod
		for _, pod := range pods {
			cur, err := o.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err) || (err == nil && cur.UID != pod.UID):
				fmt.Fprintf(o.out, "pod/%s %s\n", pod.Name, verb)
			case err != nil:
				if ctx.Err() != nil {
					return ctx.Err()
				}
				fmt.Fprintf(o.out, "pod/%s %s\n", pod.Name, failure)
				return err
			case o.skipWaitTimeout > 0 && cur.DeletionTimestamp != nil &&
				time.Since(cur.DeletionTimestamp.Time) > time.Duration(o.skipWaitTimeout)*time.Second:
				fmt.Fprintf(o.out, "Pod %s has DeletionTimestamp older than %v seconds, skipping\n", pod.Name, o.skipWaitTimeout)
			default:
				pending = append(pending, pod)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		pods = pending
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// syncWriter serializes the lines the eviction goroutines print.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
