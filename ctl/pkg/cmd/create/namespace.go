package create

import (
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/ctl/pkg/factory"
)

func newNamespaceCommand(f *factory.Factory) *cobra.Command {
	var w writeFlags
	cmd := &cobra.Command{
		Use:                   "namespace NAME [--dry-run=server|client|none]",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"ns"},
		Short:                 "Create a namespace with the specified name",
		Long:                  "Create a namespace with the specified name.",
		Example: `  # Create a new namespace named my-namespace
  navctl create namespace my-namespace`,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneName(cmd, args)
			if err != nil {
				return err
			}
			ns := &corev1.Namespace{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
				ObjectMeta: metav1.ObjectMeta{Name: name},
			}
			return w.generated(cmd.Context(), f, ns, nil)
		},
	}
	w.add(cmd)
	return cmd
}

func newServiceAccountCommand(f *factory.Factory) *cobra.Command {
	var w writeFlags
	cmd := &cobra.Command{
		Use:                   "serviceaccount NAME [--dry-run=server|client|none]",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"sa"},
		Short:                 "Create a service account with the specified name",
		Long:                  "Create a service account with the specified name.",
		Example: `  # Create a new service account named my-service-account
  navctl create serviceaccount my-service-account`,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneName(cmd, args)
			if err != nil {
				return err
			}
			sa := &corev1.ServiceAccount{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
				ObjectMeta: metav1.ObjectMeta{Name: name},
			}
			return w.generated(cmd.Context(), f, sa, nil)
		},
	}
	w.add(cmd)
	return cmd
}
