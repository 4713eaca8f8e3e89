package create

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"navarch.dev/ctl/pkg/factory"
	"navarch.dev/ctl/pkg/resource"
)

const jobExample = `  # Create a job
  navctl create job my-job --image=busybox

  # Create a job with a command
  navctl create job my-job --image=busybox -- date

  # Create a job from a cron job named "a-cronjob"
  navctl create job test-job --from=cronjob/a-cronjob`

func newJobCommand(f *factory.Factory) *cobra.Command {
	var (
		w     writeFlags
		image string
		from  string
	)
	cmd := &cobra.Command{
		Use:                   "job NAME --image=image [--from=cronjob/name] -- [COMMAND] [args...]",
		DisableFlagsInUseLine: true,
		Short:                 "Create a job with the specified name",
		Long:                  "Create a job with the specified name.",
		Example:               jobExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, command := splitAtDash(cmd, args)
			name, err := oneName(cmd, names)
			if err != nil {
				return err
			}
			if (image == "") == (from == "") {
				return errors.New("either --image or --from must be specified")
			}
			if from != "" && len(command) > 0 {
				return errors.New("cannot specify --from and command")
			}
			var job *batchv1.Job
			if image != "" {
				job = buildJob(name, image, command)
			} else if job, err = jobFromCronJob(cmd.Context(), f, name, from); err != nil {
				return err
			}
			return w.generated(cmd.Context(), f, job, failedTo("job"))
		},
	}
	cmd.Flags().StringVar(&image, "image", "", "Image name to run.")
	cmd.Flags().StringVar(&from, "from", "", "The name of the resource to create a Job from (only cronjob is supported).")
	w.add(cmd)
	return cmd
}

// buildJob is kubectl's job: one container named after the job, never
// restarted.
func buildJob(name, image string, command []string) *batchv1.Job {
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{
					Containers:    []corev1.Container{{Name: name, Image: image, Command: command}},
					RestartPolicy: corev1.RestartPolicyNever,
				},
			},
		},
	}
}

// jobFromCronJob instantiates a cron job's job template by hand, as the
// cron job controller would, owned by the cron job.
func jobFromCronJob(ctx context.Context, f *factory.Factory, name, from string) (*batchv1.Job, error) {
	mapper, err := f.Mapper()
	if err != nil {
		return nil, err
	}
	disc, err := f.Discovery()
	if err != nil {
		return nil, err
	}
	refs, err := resource.Resolve(mapper, disc, []string{from})
	if err != nil {
		return nil, err
	}
	if len(refs) != 1 || refs[0].Name == "" {
		return nil, fmt.Errorf("from must be of the form <resource>/<name>, got %q", from)
	}
	ns, _, err := f.Namespace()
	if err != nil {
		return nil, err
	}
	dyn, err := f.Dynamic()
	if err != nil {
		return nil, err
	}
	u, err := resource.Client(dyn, refs[0].Mapping, ns).Get(ctx, refs[0].Name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	obj, err := typed(u)
	if err != nil {
		return nil, err
	}
	cj, ok := obj.(*batchv1.CronJob)
	if !ok {
		return nil, fmt.Errorf("unknown object type %T", obj)
	}
	annotations := map[string]string{"cronjob.kubernetes.io/instantiate": "manual"}
	for k, v := range cj.Spec.JobTemplate.Annotations {
		annotations[k] = v
	}
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: annotations,
			Labels:      cj.Spec.JobTemplate.Labels,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1",
				Kind:       "CronJob",
				Name:       cj.Name,
				UID:        cj.UID,
				Controller: ptr.To(true),
			}},
		},
		Spec: cj.Spec.JobTemplate.Spec,
	}, nil
}
