// Package version is navctl version: the client's and the server's versions.
package version

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	apiversion "k8s.io/apimachinery/pkg/version"
	"sigs.k8s.io/yaml"

	"navarch.dev/ctl/pkg/factory"
)

// GitVersion is navctl's version, the Kubernetes release it is compatible
// with; a release build sets it with -ldflags "-X
// navarch.dev/ctl/pkg/cmd/version.GitVersion=...".
var GitVersion = "v1.34.0-navarch"

// BuildDate is when the binary was built (set with -ldflags -X).
var BuildDate = "1970-01-01T00:00:00Z"

// Info is navctl's own version information.
func Info() apiversion.Info {
	info := apiversion.Info{
		GitVersion: GitVersion,
		BuildDate:  BuildDate,
		GoVersion:  runtime.Version(),
		Compiler:   runtime.Compiler,
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
	}
	info.Major, info.Minor = majorMinor(GitVersion)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.GitCommit = s.Value
			case "vcs.modified":
				info.GitTreeState = "clean"
				if s.Value == "true" {
					info.GitTreeState = "dirty"
				}
			}
		}
	}
	return info
}

// majorMinor reads "1" and "34" out of "v1.34.0-navarch".
func majorMinor(v string) (string, string) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return "", ""
	}
	return parts[0], parts[1]
}

// versions is what -o json|yaml prints.
type versions struct {
	ClientVersion *apiversion.Info `json:"clientVersion,omitempty"`
	ServerVersion *apiversion.Info `json:"serverVersion,omitempty"`
}

// NewCommand returns navctl version.
func NewCommand(f *factory.Factory) *cobra.Command {
	var client bool
	var output string
	cmd := &cobra.Command{
		Use:                   "version",
		DisableFlagsInUseLine: true,
		Short:                 "Print the client and server version information",
		Long:                  "Print the client and server version information for the current context.",
		Example: `  # Print the client and server versions for the current context
  navctl version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "" && output != "json" && output != "yaml" {
				return errors.New("--output must be 'yaml' or 'json'")
			}
			ci := Info()
			v := versions{ClientVersion: &ci}
			var serverErr error
			if !client {
				disc, err := f.Discovery()
				if err == nil {
					v.ServerVersion, err = disc.ServerVersion()
				}
				serverErr = err
			}
			out := f.IO.Out
			switch output {
			case "json":
				b, err := json.MarshalIndent(v, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(out, string(b))
			case "yaml":
				b, err := yaml.Marshal(v)
				if err != nil {
					return err
				}
				out.Write(b)
			default:
				fmt.Fprintf(out, "Client Version: %s\n", ci.GitVersion)
				if v.ServerVersion != nil {
					fmt.Fprintf(out, "Server Version: %s\n", v.ServerVersion.GitVersion)
				}
			}
			if serverErr != nil {
				return serverErr
			}
			if v.ServerVersion != nil {
				if w := skewWarning(ci, *v.ServerVersion); w != "" {
					fmt.Fprintln(f.IO.ErrOut, w)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&client, "client", false, "If true, shows client version only (no server required).")
	cmd.Flags().StringVarP(&output, "output", "o", "", "One of 'yaml' or 'json'.")
	return cmd
}

// skewWarning is kubectl's warning when client and server are more than one
// minor version apart.
func skewWarning(client, server apiversion.Info) string {
	cMaj, cMin := majorMinor(client.GitVersion)
	sMaj, sMin := majorMinor(server.GitVersion)
	cm, err1 := strconv.Atoi(cMin)
	sm, err2 := strconv.Atoi(sMin)
	if err1 != nil || err2 != nil || cMaj != sMaj {
		return ""
	}
	if d := cm - sm; d > 1 || d < -1 {
		return fmt.Sprintf("WARNING: version difference between client (%s.%d) and server (%s.%d) exceeds the supported minor version skew of +/-1", cMaj, cm, sMaj, sm)
	}
	return ""
}
