package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"navarch.dev/apiserver/pkg/kubeconfigs"
	"navarch.dev/shared/pki"
)

// newKubeconfigCommand is `navarch-apiserver kubeconfig`: a component's
// kubeconfig signed by the CA the apiserver generates (kubeadm's kubeconfig
// phase).
func newKubeconfigCommand() *cobra.Command {
	var dataDir, certDir, server, out string
	cmd := &cobra.Command{
		Use:   "kubeconfig IDENTITY",
		Short: "Navarch: write a component's kubeconfig with a client certificate from the cluster CA",
		Long: "Writes --out, a kubeconfig for IDENTITY (" + kubeconfigs.Names + ") against --server,\n" +
			"with a client certificate signed by the CA in --cert-dir (created there when missing, as the\n" +
			"apiserver does at start). An existing file for the same server, identity and CA that stays\n" +
			"valid for 30 more days is left alone.",
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := kubeconfigs.Named(args[0])
			if err != nil {
				return err
			}
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			if certDir == "" {
				certDir = filepath.Join(dataDir, "pki")
			}
			ca, err := pki.EnsureCA(certDir)
			if err != nil {
				return err
			}
			wrote, err := kubeconfigs.Write(ca, out, server, id)
			if err != nil {
				return err
			}
			if wrote {
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s)\n", out, id.User)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "/var/lib/navarch/apiserver", "the apiserver's --data-dir")
	f.StringVar(&certDir, "cert-dir", "", "the apiserver's --cert-dir (default <data-dir>/pki)")
	f.StringVar(&server, "server", "https://127.0.0.1:6443", "the apiserver URL the kubeconfig points at")
	f.StringVar(&out, "out", "", "where to write the kubeconfig (mode 0600)")
	return cmd
}
