// Package clitest runs the navctl binary as a user would, against a real
// in-process apiserver, for navctl's tests. It is imported by tests only.
package clitest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"navarch.dev/apiserver/pkg/server"
	"navarch.dev/apiserver/testserver"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// Binary builds navctl once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		// One binary path for every test process, replaced atomically, so
		// test runs leave a single file behind rather than one per package.
		dir := filepath.Join(os.TempDir(), "navctl-clitest")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		tmp, err := os.CreateTemp(dir, "navctl-*.tmp")
		if err != nil {
			buildErr = err
			return
		}
		tmp.Close()
		cmd := exec.Command("go", "build", "-o", tmp.Name(), "navarch.dev/ctl/cmd/navctl")
		out, err := cmd.CombinedOutput()
		if err != nil {
			os.Remove(tmp.Name())
			buildErr = fmt.Errorf("go build navctl: %v\n%s", err, out)
			return
		}
		binary = filepath.Join(dir, fmt.Sprintf("navctl-%d", os.Getpid()))
		if err := os.Rename(tmp.Name(), binary); err != nil {
			buildErr = err
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// Env is a navctl environment: an apiserver, its admin kubeconfig, and a
// private HOME so no user configuration leaks in.
type Env struct {
	Server     *testserver.TestServer
	Kubeconfig string
	Home       string
	bin        string
}

// Start starts an apiserver for t and returns an environment using it.
// modify may change the apiserver's options, as for testserver.Start.
func Start(t testing.TB, modify ...func(*server.Options)) *Env {
	t.Helper()
	bin := Binary(t)
	ts := testserver.Start(t, modify...)
	return &Env{Server: ts, Kubeconfig: ts.Kubeconfig, Home: t.TempDir(), bin: bin}
}

// Offline returns an environment with no apiserver, for commands that only
// read and write kubeconfig files (navctl config). Kubeconfig is empty, so
// $KUBECONFIG is unset unless a run sets it, and ~/.kube/config is under Home.
func Offline(t testing.TB) *Env {
	t.Helper()
	return &Env{Home: t.TempDir(), bin: Binary(t)}
}

// Result is what a navctl run printed and its exit code.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs navctl with the admin kubeconfig (via $KUBECONFIG) and args,
// stdin from input ("" for none).
func (e *Env) Run(t testing.TB, input string, args ...string) Result {
	t.Helper()
	return e.RunEnv(t, nil, input, args...)
}

// RunEnv is Run with extra environment variables ("K=V").
func (e *Env) RunEnv(t testing.TB, env []string, input string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+e.Home, "KUBECONFIG="+e.Kubeconfig)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("navctl %v: %v", args, err)
	}
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}

// OK runs navctl and fails the test unless it exits 0; it returns stdout.
func (e *Env) OK(t testing.TB, input string, args ...string) string {
	t.Helper()
	r := e.Run(t, input, args...)
	if r.Code != 0 {
		t.Fatalf("navctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// Fail runs navctl and fails the test unless it exits non-zero; it returns stderr.
func (e *Env) Fail(t testing.TB, input string, args ...string) string {
	t.Helper()
	r := e.Run(t, input, args...)
	if r.Code == 0 {
		t.Fatalf("navctl %s: want a failure, got exit 0\nstdout: %s", strings.Join(args, " "), r.Stdout)
	}
	return r.Stderr
}
