package version_test

import (
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"

	"navarch.dev/e2e/clitest"
)

func TestVersion(t *testing.T) {
	env := clitest.Start(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "client and server", args: []string{"version"}, want: "Client Version: v1.34.0-navarch\nServer Version: v1.34.0-navarch\n"},
		{name: "client only", args: []string{"version", "--client"}, want: "Client Version: v1.34.0-navarch\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := env.OK(t, "", tc.args...); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}

	type info struct {
		Major, Minor, GitVersion, Platform string
	}
	var v struct {
		ClientVersion *info
		ServerVersion *info
	}
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			out := env.OK(t, "", "version", "-o", format)
			var err error
			if format == "json" {
				err = json.Unmarshal([]byte(out), &v)
			} else {
				err = yaml.Unmarshal([]byte(out), &v)
			}
			if err != nil {
				t.Fatalf("%v in:\n%s", err, out)
			}
			if v.ClientVersion == nil || v.ClientVersion.GitVersion != "v1.34.0-navarch" || v.ClientVersion.Major != "1" || v.ClientVersion.Minor != "34" || v.ClientVersion.Platform == "" {
				t.Errorf("clientVersion = %+v", v.ClientVersion)
			}
			if v.ServerVersion == nil || v.ServerVersion.GitVersion != "v1.34.0-navarch" {
				t.Errorf("serverVersion = %+v", v.ServerVersion)
			}
		})
	}

	t.Run("bad output", func(t *testing.T) {
		if got := env.Fail(t, "", "version", "-o", "table"); got != "error: --output must be 'yaml' or 'json'\n" {
			t.Errorf("stderr = %q", got)
		}
	})
	t.Run("server unreachable", func(t *testing.T) {
		r := env.Run(t, "", "version", "--server", "https://127.0.0.1:1")
		if r.Code != 1 || r.Stdout != "Client Version: v1.34.0-navarch\n" {
			t.Errorf("exit %d, stdout %q", r.Code, r.Stdout)
		}
		if want := "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?\n"; len(r.Stderr) < len(want) || r.Stderr[len(r.Stderr)-len(want):] != want {
			t.Errorf("stderr = %q, want it to end with %q", r.Stderr, want)
		}
	})
}
