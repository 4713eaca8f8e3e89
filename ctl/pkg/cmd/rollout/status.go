package rollout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const statusLong = `Show the status of the rollout.

 By default 'rollout status' will watch the status of the latest rollout until it's done. If you don't want to wait for the rollout to finish then you can use --watch=false. Note that if a new rollout starts in-between, then 'rollout status' will continue watching the latest revision. If you want to pin to a specific revision and abort if it is rolled over by another revision, use --revision=N where N is the revision you need to watch for.`

const statusExample = `  # Watch the rollout status of a deployment
  navctl rollout status deployment/nginx`

// revisionAnnotation holds a Deployment's or ReplicaSet's rollout revision.
const revisionAnnotation = "deployment.kubernetes.io/revision"

func newStatusCommand(f *factory.Factory) *cobra.Command {
	var (
		t        targetFlags
		watchOn  bool
		revision int64
		timeout  time.Duration
	)
	cmd := &cobra.Command{
		Use:                   "status (TYPE NAME | TYPE/NAME) [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Show the status of the rollout",
		Long:                  statusLong,
		Example:               statusExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && len(t.filenames) == 0 {
				return errors.New("required resource not specified")
			}
			if revision < 0 {
				return fmt.Errorf("revision must be a positive integer: %v", revision)
			}
			ctx := cmd.Context()
			targets, errs, err := t.resolve(ctx, f, args)
			if err != nil {
				return err
			}
			if len(errs) > 0 {
				return cli.Aggregate(errs)
			}
			if len(targets) == 0 {
				noneFound(f)
				return nil
			}
			for _, tg := range targets {
				if err := watchStatus(ctx, f, tg, revision, watchOn, timeout); err != nil {
					return err
				}
			}
			return nil
		},
	}
	t.addFlags(cmd, "identifying the resource to get from a server.")
	cmd.Flags().BoolVarP(&watchOn, "watch", "w", true, "Watch the status of the rollout until it's done.")
	cmd.Flags().Int64Var(&revision, "revision", 0, "Pin to a specific revision for showing its status. Defaults to 0 (last revision).")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "The length of time to wait before ending watch, zero means never. Any other values should contain a corresponding time unit (e.g. 1s, 2m, 3h).")
	return cmd
}

// statusFunc describes an object's rollout and whether it is done.
type statusFunc func(obj *unstructured.Unstructured, revision int64) (string, bool, error)

func statusFor(kind string) (statusFunc, error) {
	switch kind {
	case "Deployment":
		return deploymentStatus, nil
	case "DaemonSet":
		return daemonSetStatus, nil
	case "StatefulSet":
		return statefulSetStatus, nil
	}
	return nil, fmt.Errorf("no status viewer has been implemented for %s", kind)
}

// watchStatus prints the object's rollout status on every change until the
// rollout is done (or at once with watch off), the timeout passes, or the
// object is deleted.
func watchStatus(ctx context.Context, f *factory.Factory, tg target, revision int64, watchOn bool, timeout time.Duration) error {
	status, err := statusFor(tg.kind())
	if err != nil {
		return err
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return err
	}
	client := resource.Client(dyn, tg.mapping, tg.namespace())
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	timedOut := errors.New("timed out waiting for the condition")
	// show reports the status and whether to stop.
	show := func(obj *unstructured.Unstructured) (bool, error) {
		msg, done, err := status(obj, revision)
		if err != nil {
			return true, err
		}
		fmt.Fprint(f.IO.Out, msg)
		return done || !watchOn, nil
	}
	obj := tg.obj
	for {
		if stop, err := show(obj); stop {
			return err
		}
		// Watch from what was shown; a watch that ends (server timeout,
		// compaction) is resumed from a fresh read.
		byName := fields.OneTermEqualSelector("metadata.name", tg.name()).String()
		w, err := client.Watch(ctx, metav1.ListOptions{FieldSelector: byName, ResourceVersion: obj.GetResourceVersion()})
		if err != nil {
			if ctx.Err() != nil {
				return timedOut
			}
			return err
		}
		for ev := range w.ResultChan() {
			switch ev.Type {
			case watch.Added, watch.Modified:
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok {
					continue
				}
				obj = u
				if stop, err := show(obj); stop {
					w.Stop()
					return err
				}
			case watch.Deleted:
				w.Stop()
				return errors.New("object has been deleted")
			}
		}
		w.Stop()
		if ctx.Err() != nil {
			return timedOut
		}
		if obj, err = client.Get(ctx, tg.name(), metav1.GetOptions{}); err != nil {
			if ctx.Err() != nil {
				return timedOut
			}
			return err
		}
	}
}

// revisionOf reads the revision annotation; none means revision 0.
func revisionOf(obj metav1.Object) (int64, error) {
	v, ok := obj.GetAnnotations()[revisionAnnotation]
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

func deploymentStatus(obj *unstructured.Unstructured, revision int64) (string, bool, error) {
	d, err := typed[appsv1.Deployment](obj)
	if err != nil {
		return "", false, err
	}
	if revision > 0 {
		rev, err := revisionOf(d)
		if err != nil {
			return "", false, fmt.Errorf("cannot get the revision of deployment %q: %v", d.Name, err)
		}
		if rev != revision {
			return "", false, fmt.Errorf("desired revision (%d) is different from the running revision (%d)", revision, rev)
		}
	}
	if d.Generation > d.Status.ObservedGeneration {
		return "Waiting for deployment spec update to be observed...\n", false, nil
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return "", false, fmt.Errorf("deployment %q exceeded its progress deadline", d.Name)
		}
	}
	st := d.Status
	switch {
	case d.Spec.Replicas != nil && st.UpdatedReplicas < *d.Spec.Replicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...\n", d.Name, st.UpdatedReplicas, *d.Spec.Replicas), false, nil
	case st.Replicas > st.UpdatedReplicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...\n", d.Name, st.Replicas-st.UpdatedReplicas), false, nil
	case st.AvailableReplicas < st.UpdatedReplicas:
		return fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...\n", d.Name, st.AvailableReplicas, st.UpdatedReplicas), false, nil
	}
	return fmt.Sprintf("deployment %q successfully rolled out\n", d.Name), true, nil
}

func daemonSetStatus(obj *unstructured.Unstructured, _ int64) (string, bool, error) {
	ds, err := typed[appsv1.DaemonSet](obj)
	if err != nil {
		return "", false, err
	}
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
		return "", true, fmt.Errorf("rollout status is only available for %s strategy type", appsv1.RollingUpdateStatefulSetStrategyType)
	}
	if ds.Generation > ds.Status.ObservedGeneration {
		return "Waiting for daemon set spec update to be observed...\n", false, nil
	}
	st := ds.Status
	switch {
	case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated...\n", ds.Name, st.UpdatedNumberScheduled, st.DesiredNumberScheduled), false, nil
	case st.NumberAvailable < st.DesiredNumberScheduled:
		return fmt.Sprintf("Waiting for daemon set %q rollout to finish: %d of %d updated pods are available...\n", ds.Name, st.NumberAvailable, st.DesiredNumberScheduled), false, nil
	}
	return fmt.Sprintf("daemon set %q successfully rolled out\n", ds.Name), true, nil
}

func statefulSetStatus(obj *unstructured.Unstructured, _ int64) (string, bool, error) {
	sts, err := typed[appsv1.StatefulSet](obj)
	if err != nil {
		return "", false, err
	}
	if sts.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		return "", true, fmt.Errorf("rollout status is only available for %s strategy type", appsv1.RollingUpdateStatefulSetStrategyType)
	}
	st := sts.Status
	if st.ObservedGeneration == 0 || sts.Generation > st.ObservedGeneration {
		return "Waiting for statefulset spec update to be observed...\n", false, nil
	}
	if sts.Spec.Replicas != nil && st.ReadyReplicas < *sts.Spec.Replicas {
		return fmt.Sprintf("Waiting for %d pods to be ready...\n", *sts.Spec.Replicas-st.ReadyReplicas), false, nil
	}
	if ru := sts.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if sts.Spec.Replicas != nil && ru.Partition != nil && st.UpdatedReplicas < *sts.Spec.Replicas-*ru.Partition {
			return fmt.Sprintf("Waiting for partitioned roll out to finish: %d out of %d new pods have been updated...\n", st.UpdatedReplicas, *sts.Spec.Replicas-*ru.Partition), false, nil
		}
		return fmt.Sprintf("partitioned roll out complete: %d new pods have been updated...\n", st.UpdatedReplicas), true, nil
	}
	if st.UpdateRevision != st.CurrentRevision {
		return fmt.Sprintf("waiting for statefulset rolling update to complete %d pods at revision %s...\n", st.UpdatedReplicas, st.UpdateRevision), false, nil
	}
	return fmt.Sprintf("statefulset rolling update complete %d pods at revision %s...\n", st.CurrentReplicas, st.CurrentRevision), true, nil
}
