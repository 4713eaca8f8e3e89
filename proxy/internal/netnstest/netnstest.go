// Package netnstest builds throw-away network namespaces for root tests:
// each test gets its own namespaces, veth links and private addresses, and
// removes them when it ends. Nothing touches the host's own network.
package netnstest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"navarch.dev/proxy/pkg/netns"
)

var seq atomic.Int32

// Lab is a set of namespaces owned by one test.
type Lab struct {
	t      testing.TB
	prefix string
	nlink  int
}

// New returns an empty Lab; its namespaces are deleted at test cleanup.
// It fails the test when not run as root.
func New(t testing.TB) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("netnstest: this test needs root (network namespaces, iptables)")
	}
	return &Lab{t: t, prefix: fmt.Sprintf("nv%d%d", os.Getpid()%100000, seq.Add(1))}
}

// Run runs a command, failing the test on error.
func (l *Lab) Run(args ...string) string {
	l.t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// NS creates namespace <prefix>-<name> with loopback up and returns its
// path under /var/run/netns.
func (l *Lab) NS(name string) string {
	l.t.Helper()
	full := l.prefix + "-" + name
	l.Run("ip", "netns", "add", full)
	l.t.Cleanup(func() { exec.Command("ip", "netns", "del", full).Run() })
	l.Exec(full, "ip", "link", "set", "lo", "up")
	return "/var/run/netns/" + full
}

// Exec runs a command inside the namespace (by name or path).
func (l *Lab) Exec(ns string, args ...string) string {
	l.t.Helper()
	return l.Run(append([]string{"ip", "netns", "exec", nsName(ns)}, args...)...)
}

func nsName(ns string) string { return strings.TrimPrefix(ns, "/var/run/netns/") }

// Link joins two namespaces with a veth pair, addresses (CIDR form) on each
// end.
func (l *Lab) Link(nsA, cidrA, nsB, cidrB string) {
	l.t.Helper()
	l.nlink++
	a, b := fmt.Sprintf("%sa%d", l.prefix, l.nlink), fmt.Sprintf("%sb%d", l.prefix, l.nlink)
	l.Run("ip", "link", "add", a, "netns", nsName(nsA), "type", "veth", "peer", "name", b, "netns", nsName(nsB))
	l.addr(nsA, a, cidrA)
	l.Exec(nsA, "ip", "link", "set", a, "up")
	l.addr(nsB, b, cidrB)
	l.Exec(nsB, "ip", "link", "set", b, "up")
}

// Link6 is Link for a dual-stack pair: each end also gets an IPv6 address.
func (l *Lab) Link6(nsA, cidrA, cidr6A, nsB, cidrB, cidr6B string) {
	l.t.Helper()
	l.Link(nsA, cidrA, nsB, cidrB)
	l.addr(nsA, fmt.Sprintf("%sa%d", l.prefix, l.nlink), cidr6A)
	l.addr(nsB, fmt.Sprintf("%sb%d", l.prefix, l.nlink), cidr6B)
}

// addr adds an address; IPv6 ones skip duplicate address detection so
// they are usable at once.
func (l *Lab) addr(ns, dev, cidr string) {
	l.t.Helper()
	args := []string{"ip", "addr", "add", cidr, "dev", dev}
	if strings.Contains(cidr, ":") {
		args = append(args, "nodad")
	}
	l.Exec(ns, args...)
}

// Listen opens a TCP listener inside a namespace.
func Listen(t testing.TB, nsPath, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := netns.Do(nsPath, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// Get makes one HTTP/1.0 request (a new connection every time) from inside
// a namespace and returns the response body.
func Get(nsPath, addr string) (string, error) {
	var conn net.Conn
	err := netns.Do(nsPath, func() (err error) {
		conn, err = net.DialTimeout("tcp", addr, 10*time.Second)
		return err
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := io.ReadAll(conn)
	if err != nil {
		return "", err
	}
	_, body, _ := strings.Cut(string(resp), "\r\n\r\n")
	return body, nil
}
