// Package annotate is `navctl annotate`: setting and removing annotations
// on objects, with the machinery of `navctl label`.
package annotate

import (
	"github.com/spf13/cobra"

	"navarch.dev/ctl/pkg/cmd/label"
	"navarch.dev/ctl/pkg/factory"
)

const annotateLong = `Update the annotations on one or more resources.

 All Kubernetes objects support the ability to store additional data with the object as annotations. Annotations are key/value pairs that can be larger than labels and include arbitrary string values such as structured JSON. Tools and system extensions may use annotations to store their own data.

 Attempting to set an annotation that already exists will fail unless --overwrite is set. If --resource-version is specified and does not match the current resource version on the server the command will fail.

Use "navctl api-resources" for a complete list of supported resources.`

const annotateExample = `  # Update pod 'foo' with the annotation 'description' and the value 'my frontend'
  # If the same annotation is set multiple times, only the last value will be applied
  navctl annotate pods foo description='my frontend'

  # Update a pod identified by type and name in "pod.json"
  navctl annotate -f pod.json description='my frontend'

  # Update pod 'foo' with the annotation 'description' and the value 'my frontend running nginx', overwriting any existing value
  navctl annotate --overwrite pods foo description='my frontend running nginx'

  # Update all pods in the namespace
  navctl annotate pods --all description='my frontend running nginx'

  # Update pod 'foo' only if the resource is unchanged from version 1
  navctl annotate pods foo description='my frontend running nginx' --resource-version=1

  # Update pod 'foo' by removing an annotation named 'description' if it exists
  # Does not require the --overwrite flag
  navctl annotate pods foo description-`

// NewCommand returns `navctl annotate`.
func NewCommand(f *factory.Factory) *cobra.Command {
	return label.NewMapCommand(f, label.Map{Noun: "annotation"}, label.Command{
		Use:      "annotate [--overwrite] (-f FILENAME | TYPE NAME) KEY_1=VAL_1 ... KEY_N=VAL_N [--resource-version=version]",
		Short:    "Update the annotations on a resource",
		Long:     annotateLong,
		Example:  annotateExample,
		AllUsage: "Select all resources, in the namespace of the specified resource types.",
	})
}
