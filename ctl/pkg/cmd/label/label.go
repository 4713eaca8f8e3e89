// Package label is `navctl label`: setting and removing labels on objects.
// Its machinery (NewMapCommand) also serves `navctl annotate`.
package label

import (
	"github.com/spf13/cobra"

	"navarch.dev/ctl/pkg/factory"
)

const labelLong = `Update the labels on a resource.

  *  A label key and value must begin with a letter or number, and may contain letters, numbers, hyphens, dots, and underscores, up to 63 characters each.
  *  Optionally, the key can begin with a DNS subdomain prefix and a single '/', like example.com/my-app.
  *  If --overwrite is true, then existing labels can be overwritten, otherwise attempting to overwrite a label will result in an error.
  *  If --resource-version is specified, then updates will use this resource version, otherwise the existing resource-version will be used.`

const labelExample = `  # Update pod 'foo' with the label 'unhealthy' and the value 'true'
  navctl label pods foo unhealthy=true

  # Update pod 'foo' with the label 'status' and the value 'unhealthy', overwriting any existing value
  navctl label --overwrite pods foo status=unhealthy

  # Update all pods in the namespace
  navctl label pods --all status=unhealthy

  # Update a pod identified by the type and name in "pod.json"
  navctl label -f pod.json status=unhealthy

  # Update pod 'foo' only if the resource is unchanged from version 1
  navctl label pods foo status=unhealthy --resource-version=1

  # Update pod 'foo' by removing a label named 'bar' if it exists
  # Does not require the --overwrite flag
  navctl label pods foo bar-`

// NewCommand returns `navctl label`.
func NewCommand(f *factory.Factory) *cobra.Command {
	return NewMapCommand(f, Map{Noun: "label", Labels: true}, Command{
		Use:      "label [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version]",
		Short:    "Update the labels on a resource",
		Long:     labelLong,
		Example:  labelExample,
		AllUsage: "Select all resources, in the namespace of the specified resource types",
	})
}
