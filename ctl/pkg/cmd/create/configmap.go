package create

import (
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/ctl/pkg/factory"
)

const configMapLong = `Create a config map based on a file, directory, or specified literal value.

 A single config map may package one or more key/value pairs.

 When creating a config map based on a file, the key will default to the basename of the file, and the value will default to the file content.  If the basename is an invalid key, you may specify an alternate key.

 When creating a config map based on a directory, each file whose basename is a valid key in the directory will be packaged into the config map.  Any directory entries except regular files are ignored (e.g. subdirectories, symlinks, devices, pipes, etc).`

const configMapExample = `  # Create a new config map named my-config based on folder bar
  navctl create configmap my-config --from-file=path/to/bar

  # Create a new config map named my-config with specified keys instead of file basenames on disk
  navctl create configmap my-config --from-file=key1=/path/to/bar/file1.txt --from-file=key2=/path/to/bar/file2.txt

  # Create a new config map named my-config with key1=config1 and key2=config2
  navctl create configmap my-config --from-literal=key1=config1 --from-literal=key2=config2

  # Create a new config map named my-config from an env file
  navctl create configmap my-config --from-env-file=path/to/foo.env --from-env-file=path/to/bar.env`

func newConfigMapCommand(f *factory.Factory) *cobra.Command {
	var (
		w   writeFlags
		src dataSources
	)
	cmd := &cobra.Command{
		Use:                   "configmap NAME [--from-file=[key=]source] [--from-literal=key1=value1] [--dry-run=server|client|none]",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"cm"},
		Short:                 "Create a config map from a local file, directory or literal value",
		Long:                  configMapLong,
		Example:               configMapExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneName(cmd, args)
			if err != nil {
				return err
			}
			entries, err := src.read()
			if err != nil {
				return err
			}
			data, binary, err := configMapData(name, entries)
			if err != nil {
				return err
			}
			cm := &corev1.ConfigMap{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Data:       data,
				BinaryData: binary,
			}
			return w.generated(cmd.Context(), f, cm, failedTo("configmap"))
		},
	}
	cmd.Flags().StringSliceVar(&src.files, "from-file", nil, "Key file can be specified using its file path, in which case file basename will be used as configmap key, or optionally with a key and file path, in which case the given key will be used.  Specifying a directory will iterate each named file in the directory whose basename is a valid configmap key.")
	cmd.Flags().StringArrayVar(&src.literals, "from-literal", nil, "Specify a key and literal value to insert in configmap (i.e. mykey=somevalue)")
	cmd.Flags().StringSliceVar(&src.envFiles, "from-env-file", nil, "Specify the path to a file to read lines of key=val pairs to create a configmap.")
	w.add(cmd)
	return cmd
}
