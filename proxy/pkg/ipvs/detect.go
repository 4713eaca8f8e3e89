// Package ipvs implements the proxy's IPVS mode. This file decides whether
// the kernel can run it; the proxy falls back to iptables when not.
package ipvs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	mobyipvs "github.com/moby/ipvs"
	"golang.org/x/sys/unix"
)

// Schedulers are the IPVS schedulers --ipvs-scheduler accepts.
var Schedulers = []string{"rr", "lc", "dh", "sh", "sed", "nq"}

// ErrUnavailable is returned when the kernel cannot do IPVS.
var ErrUnavailable = errors.New("ipvs: not available in this kernel")

// Kernel is how detection looks at the node: tests hand in a fake.
type Kernel interface {
	// ProbeIPVS talks to the kernel's IPVS netlink family.
	ProbeIPVS() error
	// Modules lists loaded and built-in kernel module names.
	Modules() (map[string]bool, error)
}

// Check reports whether IPVS mode can run with scheduler: nil when it can,
// an error wrapping ErrUnavailable (with the reason) when it cannot.
func Check(k Kernel, scheduler string) error {
	if !validScheduler(scheduler) {
		return fmt.Errorf("ipvs: unknown scheduler %q (want one of %s)", scheduler, strings.Join(Schedulers, ", "))
	}
	if err := k.ProbeIPVS(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	mods, err := k.Modules()
	if err != nil {
		return fmt.Errorf("%w: list kernel modules: %v", ErrUnavailable, err)
	}
	if mod := "ip_vs_" + scheduler; !mods[mod] {
		return fmt.Errorf("%w: scheduler module %s is not loaded", ErrUnavailable, mod)
	}
	return nil
}

func validScheduler(s string) bool {
	for _, x := range Schedulers {
		if x == s {
			return true
		}
	}
	return false
}

// HostKernel inspects the running kernel, in the network namespace at
// NetNS when set.
type HostKernel struct {
	NetNS string
}

// ProbeIPVS lists virtual servers through netlink: it fails when the IPVS
// generic netlink family does not exist.
func (h HostKernel) ProbeIPVS() error {
	if _, err := os.Stat("/proc/net/ip_vs"); err != nil && h.NetNS == "" {
		return fmt.Errorf("/proc/net/ip_vs: %w", err)
	}
	handle, err := mobyipvs.New(h.NetNS)
	if err != nil {
		return err
	}
	defer handle.Close()
	_, err = handle.GetServices()
	return err
}

// Modules reads /proc/modules and the kernel's modules.builtin.
func (HostKernel) Modules() (map[string]bool, error) {
	mods := map[string]bool{}
	data, err := os.ReadFile("/proc/modules")
	if err != nil {
		return nil, err
	}
	for _, l := range bytes.Split(data, []byte("\n")) {
		if f := bytes.Fields(l); len(f) > 0 {
			mods[string(f[0])] = true
		}
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		rel := string(bytes.TrimRight(u.Release[:], "\x00"))
		if f, err := os.Open(filepath.Join("/lib/modules", rel, "modules.builtin")); err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				base := filepath.Base(sc.Text())
				mods[strings.TrimSuffix(base, ".ko")] = true
			}
		}
	}
	return mods, nil
}
