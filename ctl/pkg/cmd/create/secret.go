package create

import (
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"navarch.dev/ctl/pkg/factory"
)

const secretLong = `Create a secret with specified type.

 A generic type secret indicate an Opaque secret type.`

const secretGenericLong = `Create a secret based on a file, directory, or specified literal value.

 A single secret may package one or more key/value pairs.

 When creating a secret based on a file, the key will default to the basename of the file, and the value will default to the file content. If the basename is an invalid key or you wish to chose your own, you may specify an alternate key.

 When creating a secret based on a directory, each file whose basename is a valid key in the directory will be packaged into the secret. Any directory entries except regular files are ignored (e.g. subdirectories, symlinks, devices, pipes, etc).`

const secretGenericExample = `  # Create a new secret named my-secret with keys for each file in folder bar
  navctl create secret generic my-secret --from-file=path/to/bar

  # Create a new secret named my-secret with specified keys instead of names on disk
  navctl create secret generic my-secret --from-file=ssh-privatekey=path/to/id_rsa --from-file=ssh-publickey=path/to/id_rsa.pub

  # Create a new secret named my-secret with key1=supersecret and key2=topsecret
  navctl create secret generic my-secret --from-literal=key1=supersecret --from-literal=key2=topsecret

  # Create a new secret named my-secret using a combination of a file and a literal
  navctl create secret generic my-secret --from-file=ssh-privatekey=path/to/id_rsa --from-literal=passphrase=topsecret

  # Create a new secret named my-secret from env files
  navctl create secret generic my-secret --from-env-file=path/to/foo.env --from-env-file=path/to/bar.env`

func newSecretCommand(f *factory.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "secret (generic) [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Create a secret using a specified subcommand",
		Long:                  secretLong,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newSecretGenericCommand(f))
	return cmd
}

func newSecretGenericCommand(f *factory.Factory) *cobra.Command {
	var (
		w    writeFlags
		src  dataSources
		kind string
	)
	cmd := &cobra.Command{
		Use:                   "generic NAME [--type=string] [--from-file=[key=]source] [--from-literal=key1=value1] [--dry-run=server|client|none]",
		DisableFlagsInUseLine: true,
		Short:                 "Create a secret from a local file, directory, or literal value",
		Long:                  secretGenericLong,
		Example:               secretGenericExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := oneName(cmd, args)
			if err != nil {
				return err
			}
			entries, err := src.read()
			if err != nil {
				return err
			}
			data, err := secretData(entries)
			if err != nil {
				return err
			}
			s := &corev1.Secret{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Data:       data,
				Type:       corev1.SecretType(kind),
			}
			return w.generated(cmd.Context(), f, s, func(err error) error { return fmt.Errorf("failed to create secret %v", err) })
		},
	}
	cmd.Flags().StringSliceVar(&src.files, "from-file", nil, "Key files can be specified using their file path, in which case a default name will be given to them, or optionally with a name and file path, in which case the given name will be used.  Specifying a directory will iterate each named file in the directory that is a valid secret key.")
	cmd.Flags().StringArrayVar(&src.literals, "from-literal", nil, "Specify a key and literal value to insert in secret (i.e. mykey=somevalue)")
	cmd.Flags().StringSliceVar(&src.envFiles, "from-env-file", nil, "Specify the path to a file to read lines of key=val pairs to create a secret.")
	cmd.Flags().StringVar(&kind, "type", "", "The type of secret to create")
	w.add(cmd)
	return cmd
}
