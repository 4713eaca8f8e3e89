// Package manifests checks what Navarch ships under manifests/ the way an
// operator would meet it: the systemd units and their environment files
// parse and every command line they start is accepted by the binary it
// names; the static pod manifests are valid pods whose commands the images'
// binaries accept; the examples pass a server-side dry run.
package manifests

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// binDir holds the daemons built from this checkout for the test run.
var binDir string

// commands are the binaries the manifests start, by name, with their
// packages.
var commands = map[string]string{
	"navarch-apiserver":          "navarch.dev/apiserver/cmd/navarch-apiserver",
	"navarch-etcd":               "navarch.dev/apiserver/cmd/navarch-etcd",
	"navarch-scheduler":          "navarch.dev/scheduler/cmd/navarch-scheduler",
	"navarch-controller-manager": "navarch.dev/controller-manager/cmd/navarch-controller-manager",
	"navarch-kubelet":            "navarch.dev/kubelet/cmd/navarch-kubelet",
	"navarch-proxy":              "navarch.dev/proxy/cmd/navarch-proxy",
	"navarch-dns":                "navarch.dev/dns/cmd/navarch-dns",
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "navarch-manifests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	args := []string{"build", "-o", dir + "/"}
	for _, pkg := range commands {
		args = append(args, pkg)
	}
	// install.sh installs navctl on control-plane hosts too.
	args = append(args, "navarch.dev/ctl/cmd/navctl")
	build := exec.Command("go", args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	code := 1
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build the daemons:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the workspace root (the directory holding go.work).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// parseRejections are what the daemons' flag parsers (spf13/pflag, cobra and
// etcd's Go flag set) print for a command line they do not accept.
var parseRejections = []string{
	"unknown flag", "unknown shorthand flag", "flag provided but not defined",
	"invalid argument", "bad flag syntax", "needs an argument",
}

// flagsAccepted runs the binary with args and then --help: every parser
// here reads the flags in order and stops at --help to print the usage, so
// the daemon checks each flag and value of args and then exits without
// serving. It returns an error saying what the parser rejected.
func flagsAccepted(binary string, args []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	argv := append(append([]string{}, args...), "--help")
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, binary), argv...)
	// No ETCD_* or KUBECONFIG from the test's environment.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + binDir}
	out, err := cmd.CombinedOutput()
	text := string(out)
	if ctx.Err() != nil {
		return fmt.Errorf("%s %s: did not stop at --help within a minute (did it start serving?)", binary, strings.Join(args, " "))
	}
	for _, bad := range parseRejections {
		if strings.Contains(text, bad) {
			return fmt.Errorf("%s rejects its command line: %s", binary, firstLineWith(text, bad))
		}
	}
	if err != nil && !strings.Contains(text, "help requested") {
		return fmt.Errorf("%s %s --help: %v\n%s", binary, strings.Join(args, " "), err, text)
	}
	if !strings.Contains(text, "Usage") {
		return fmt.Errorf("%s %s --help printed no usage:\n%s", binary, strings.Join(args, " "), text)
	}
	return nil
}

func firstLineWith(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// The check above is only worth something if it can fail: every binary
// accepts an empty command line and rejects a flag it lacks and a value of
// the wrong type.
func TestFlagCheckRejectsWhatBinariesLack(t *testing.T) {
	badValue := map[string]string{
		"navarch-apiserver": "--secure-port=https", "navarch-etcd": "--snapshot-count=many",
		"navarch-scheduler": "--port=http", "navarch-controller-manager": "--secure-port=http",
		"navarch-kubelet": "--max-pods=lots", "navarch-proxy": "--iptables-sync-period=soon",
		"navarch-dns": "--v=loud",
	}
	for name := range commands {
		t.Run(name, func(t *testing.T) {
			if err := flagsAccepted(name, nil); err != nil {
				t.Errorf("no flags: %v", err)
			}
			if err := flagsAccepted(name, []string{"--no-such-flag=1"}); err == nil {
				t.Errorf("--no-such-flag=1 was accepted")
			}
			if err := flagsAccepted(name, []string{badValue[name]}); err == nil {
				t.Errorf("%s was accepted", badValue[name])
			}
		})
	}
}
