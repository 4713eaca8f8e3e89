package create

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"navarch.dev/ctl/pkg/factory"
)

const deploymentExample = `  # Create a deployment named my-dep that runs the busybox image
  navctl create deployment my-dep --image=busybox

  # Create a deployment with a command
  navctl create deployment my-dep --image=busybox -- date

  # Create a deployment named my-dep that runs the nginx image with 3 replicas
  navctl create deployment my-dep --image=nginx --replicas=3

  # Create a deployment named my-dep that runs the busybox image and expose port 5701
  navctl create deployment my-dep --image=busybox --port=5701

  # Create a deployment named my-dep that runs multiple containers
  navctl create deployment my-dep --image=busybox:latest --image=ubuntu:latest --image=nginx`

func newDeploymentCommand(f *factory.Factory) *cobra.Command {
	var (
		w        writeFlags
		images   []string
		replicas int32
		port     int32
	)
	cmd := &cobra.Command{
		Use:                   "deployment NAME --image=image -- [COMMAND] [args...]",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"deploy"},
		Short:                 "Create a deployment with the specified name",
		Long:                  "Create a deployment with the specified name.",
		Example:               deploymentExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, command := splitAtDash(cmd, args)
			name, err := oneName(cmd, names)
			if err != nil {
				return err
			}
			if len(images) > 1 && len(command) > 0 {
				return errors.New("cannot specify multiple --image options and command")
			}
			return w.generated(cmd.Context(), f, buildDeployment(name, images, replicas, port, command), failedTo("deployment"))
		},
	}
	cmd.Flags().StringSliceVar(&images, "image", nil, "Image names to run. A deployment can have multiple images set for multi-container pod.")
	_ = cmd.MarkFlagRequired("image")
	cmd.Flags().Int32VarP(&replicas, "replicas", "r", 1, "Number of replicas to create. Default is 1.")
	cmd.Flags().Int32Var(&port, "port", -1, "The containerPort that this deployment exposes.")
	w.add(cmd)
	return cmd
}

// splitAtDash separates the arguments before "--" from the command after it.
func splitAtDash(cmd *cobra.Command, args []string) (before, after []string) {
	if at := cmd.ArgsLenAtDash(); at >= 0 {
		return args[:at], args[at:]
	}
	return args, nil
}

// buildDeployment is kubectl's deployment: labels app=NAME on the object,
// its selector and its pods; one container per image, named after the image.
func buildDeployment(name string, images []string, replicas, port int32, command []string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: containersFor(images, command)},
			},
		},
	}
	if port >= 0 && len(images) > 0 {
		d.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: port}}
	}
	return d
}

func containersFor(images, command []string) []corev1.Container {
	var cs []corev1.Container
	for _, image := range images {
		cs = append(cs, corev1.Container{Name: containerName(image), Image: image, Command: command})
	}
	return cs
}

// containerName is the image's last path element without tag or digest;
// one with '_' or '.' (not allowed in a container name) has them turned to
// '-' and gets a random suffix, as kubectl does.
func containerName(image string) string {
	name := image[strings.LastIndex(image, "/")+1:]
	name, _, _ = strings.Cut(name, "@")
	name, _, _ = strings.Cut(name, ":")
	if strings.ContainsAny(name, "_.") {
		name = strings.NewReplacer("_", "-", ".", "-").Replace(name) + "-" + utilrand.String(5)
	}
	return name
}
