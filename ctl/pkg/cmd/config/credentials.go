package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"navarch.dev/ctl/pkg/cli"
	"navarch.dev/ctl/pkg/factory"
)

const setCredentialsLong = `Set a user entry in kubeconfig.

Specifying a name that already exists will merge new fields on top of existing values.

    Client-certificate flags:
    --client-certificate=certfile --client-key=keyfile

    Bearer token flags:
    --token=bearer_token

    Basic auth flags:
    --username=basic_user --password=basic_password

Bearer token and basic auth are mutually exclusive.`

const setCredentialsExample = `  # Set only the "client-key" field on the "cluster-admin"
  # entry, without touching other values
  navctl config set-credentials cluster-admin --client-key=~/.kube/admin.key

  # Set basic auth for the "cluster-admin" entry
  navctl config set-credentials cluster-admin --username=admin --password=uXFGweU9l35qcif

  # Embed client certificate data in the "cluster-admin" entry
  navctl config set-credentials cluster-admin --client-certificate=~/.kube/admin.crt --embed-certs=true

  # Set a bearer token for the "ci" entry
  navctl config set-credentials ci --token=abc123`

func newSetCredentialsCommand(f *factory.Factory) *cobra.Command {
	var cert, key, token, username, password string
	var embed bool
	cmd := &cobra.Command{
		Use:                   "set-credentials NAME [--client-certificate=path/to/certfile] [--client-key=path/to/keyfile] [--token=bearer_token] [--username=basic_user] [--password=basic_password]",
		DisableFlagsInUseLine: true,
		Short:                 "Set a user entry in kubeconfig",
		Long:                  setCredentialsLong,
		Example:               setCredentialsExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				_ = cmd.Help()
				return fmt.Errorf("unexpected args: %v", args)
			}
			name := args[0]
			if name == "" {
				return errors.New("you must specify a non-empty user name")
			}
			var methods []string
			if token != "" {
				methods = append(methods, "--token")
			}
			if username != "" || password != "" {
				methods = append(methods, "--username/--password")
			}
			if len(methods) > 1 {
				return fmt.Errorf("you cannot specify more than one authentication method at the same time: %v", strings.Join(methods, ", "))
			}
			if embed {
				if cert == "" && key == "" {
					return errors.New("you must specify a --client-certificate or --client-key to embed")
				}
				for flag, path := range map[string]string{"client-certificate": cert, "client-key": key} {
					if path == "" {
						continue
					}
					if _, err := os.Stat(path); err != nil {
						return fmt.Errorf("could not stat %s file %s: %v", flag, path, err)
					}
				}
			}
			ca := access(f)
			config, err := ca.GetStartingConfig()
			if err != nil {
				return err
			}
			user := clientcmdapi.NewAuthInfo()
			if u, ok := config.AuthInfos[name]; ok {
				user = u
			}
			changed := *user
			setFile := func(path string, file *string, data *[]byte) error {
				if path == "" {
					*file, *data = "", nil
					return nil
				}
				if embed {
					b, err := os.ReadFile(path)
					if err != nil {
						return err
					}
					*data, *file = b, ""
					return nil
				}
				abs, err := filepath.Abs(path)
				if err != nil {
					return err
				}
				*file, *data = abs, nil
				return nil
			}
			if cmd.Flags().Changed("client-certificate") {
				if err := setFile(cert, &changed.ClientCertificate, &changed.ClientCertificateData); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("client-key") {
				if err := setFile(key, &changed.ClientKey, &changed.ClientKeyData); err != nil {
					return err
				}
			}
			var setToken, setBasic bool
			if cmd.Flags().Changed("token") {
				changed.Token = token
				setToken = token != ""
			}
			if cmd.Flags().Changed("username") {
				changed.Username = username
				setBasic = setBasic || username != ""
			}
			if cmd.Flags().Changed("password") {
				changed.Password = password
				setBasic = setBasic || password != ""
			}
			// A token and basic auth exclude each other: setting one clears the other.
			if setToken && !setBasic {
				changed.Username, changed.Password = "", ""
			}
			if setBasic && !setToken {
				changed.Token = ""
			}
			config.AuthInfos[name] = &changed
			if err := clientcmd.ModifyConfig(ca, *config, true); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "User %q set.\n", name)
			return nil
		},
	}
	cmd.Flags().StringVar(&cert, "client-certificate", "", "Path to client-certificate file for the user entry in kubeconfig")
	cmd.Flags().StringVar(&key, "client-key", "", "Path to client-key file for the user entry in kubeconfig")
	cmd.Flags().StringVar(&token, "token", "", "token for the user entry in kubeconfig")
	cmd.Flags().StringVar(&username, "username", "", "username for the user entry in kubeconfig")
	cmd.Flags().StringVar(&password, "password", "", "password for the user entry in kubeconfig")
	cmd.Flags().BoolVar(&embed, "embed-certs", false, "Embed client cert/key for the user entry in kubeconfig")
	return cmd
}

func newGetUsersCommand(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "get-users",
		Short: "Display users defined in the kubeconfig",
		Long:  "Display users defined in the kubeconfig.",
		Example: `  # List the users that navctl knows about
  navctl config get-users`,
		RunE: func(cmd *cobra.Command, args []string) error {
			config, err := access(f).GetStartingConfig()
			if err != nil {
				return err
			}
			printNames(f, config.AuthInfos)
			return nil
		},
	}
}

func newDeleteUserCommand(f *factory.Factory) *cobra.Command {
	return &cobra.Command{
		Use:                   "delete-user NAME",
		DisableFlagsInUseLine: true,
		Short:                 "Delete the specified user from the kubeconfig",
		Long:                  "Delete the specified user from the kubeconfig.",
		Example: `  # Delete the minikube user
  navctl config delete-user minikube`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cli.CmdUsagef(cmd.CommandPath(), "user to delete is required")
			}
			ca := access(f)
			config, err := ca.GetStartingConfig()
			if err != nil {
				return err
			}
			name, file := args[0], configFile(ca)
			if _, ok := config.AuthInfos[name]; !ok {
				return fmt.Errorf("cannot delete user %s, not in %s", name, file)
			}
			delete(config.AuthInfos, name)
			if err := clientcmd.ModifyConfig(ca, *config, true); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "deleted user %s from %s\n", name, file)
			return nil
		},
	}
}
