// Package integration tests navarch-apiserver the way clients use it: client-go
// against the real server on a real (embedded) etcd.
package integration

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"navarch.dev/apiserver/testserver"
)

// shared is one server for the tests that do not need their own.
var shared *testserver.TestServer

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "navarch-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = testserver.StartE(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start apiserver:", err)
		os.Exit(1)
	}
	code := m.Run()
	shared.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: condition not met in time (last error: %v)", what, lastErr)
}
