// Package apiversions is navctl api-versions: the group/versions the server
// serves.
package apiversions

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/ctl/pkg/factory"
)

// NewCommand returns navctl api-versions.
func NewCommand(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:                   "api-versions",
		DisableFlagsInUseLine: true,
		Short:                 "Print the supported API versions on the server, in the form of \"group/version\"",
		Long:                  "Print the supported API versions on the server, in the form of \"group/version\".",
		Example: `  # Print the supported API versions
  navctl api-versions`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			disc, err := f.Discovery()
			if err != nil {
				return err
			}
			groups, err := disc.ServerGroups()
			if err != nil {
				return err
			}
			versions := metav1.ExtractGroupVersions(groups)
			sort.Strings(versions)
			for _, v := range versions {
				fmt.Fprintln(f.IO.Out, v)
			}
			return nil
		},
	}
}
