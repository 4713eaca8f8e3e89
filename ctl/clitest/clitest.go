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
		dir, err := os.MkdirTemp("", "navctl-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "navctl")
		cmd := exec.Command("go", "build", "-o", binary, "navarch.dev/ctl/cmd/navctl")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build navctl: %v\n%s", err, out)
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
func Start(t testing.TB) *Env {
	t.Helper()
	bin := Binary(t)
	ts := testserver.Start(t)
	return &Env{Server: ts, Kubeconfig: ts.Kubeconfig, Home: t.TempDir(), bin: bin}
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
