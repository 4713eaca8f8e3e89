package iptables

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	goipt "github.com/coreos/go-iptables/iptables"

	"navarch.dev/proxy/pkg/netns"
)

// Runner is what the proxier needs from the kernel's iptables. The real one
// is ExecRunner; tests hand in a fake that records the restore input.
type Runner interface {
	// Restore applies iptables-restore input atomically, leaving chains the
	// input does not mention alone (--noflush).
	Restore(data []byte) error
	// Save returns iptables-save output for one table.
	Save(table string) ([]byte, error)
	// EnsureChain creates a chain if it does not exist.
	EnsureChain(table, chain string) error
	// ChainExists reports whether a chain exists.
	ChainExists(table, chain string) (bool, error)
	// EnsureRule inserts a rule at the top of chain (or appends it when
	// appendRule is set) unless it is already there.
	EnsureRule(appendRule bool, table, chain string, spec ...string) error
	// DeleteRule deletes a rule if present.
	DeleteRule(table, chain string, spec ...string) error
	// Sysctl sets a /proc/sys value, e.g. "net/ipv4/conf/all/route_localnet".
	Sysctl(name, value string) error
}

// RuleLister is a Runner that can list several chains of a table at once.
type RuleLister interface {
	// ListRules returns the "iptables -S" lines ("-N chain", "-P chain
	// policy", "-A chain ...") of the chains of table; a chain that does
	// not exist yields nothing.
	ListRules(table string, chains []string) ([]string, error)
}

// ExecRunner runs the iptables (or ip6tables) binaries of Backend (the
// host's wrapper when it is empty), inside the network namespace at NetNS when it
// is set. Resolve BackendAuto with DetectBackend first.
type ExecRunner struct {
	NetNS   string
	Backend Backend
	// IPv6 drives ip6tables instead of iptables.
	IPv6 bool

	mu sync.Mutex
	// handle is made once: making one runs "iptables --version".
	handle *goipt.IPTables
}

var (
	_ Runner     = (*ExecRunner)(nil)
	_ RuleLister = (*ExecRunner)(nil)
)

// ListRules reads the chains with one iptables-save on legacy, where every
// read copies the whole table out of the kernel, and with one iptables -S
// per chain on nft, where a read fetches only that chain.
func (e *ExecRunner) ListRules(table string, chains []string) ([]string, error) {
	var out []string
	if e.Backend != BackendNFT {
		save, err := e.Save(table)
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(save), "\n") {
			for _, c := range chains {
				if strings.HasPrefix(l, ":"+c+" ") {
					out = append(out, "-N "+c)
				} else if strings.HasPrefix(l, "-A "+c+" ") {
					out = append(out, l)
				}
			}
		}
		return out, nil
	}
	err := netns.Do(e.NetNS, func() error {
		for _, c := range chains {
			b, err := exec.Command(e.Backend.binaryFor(e.IPv6, ""), "-w", "5", "-t", table, "-S", c).Output()
			if err != nil {
				continue // no such chain
			}
			out = append(out, strings.Split(strings.TrimSpace(string(b)), "\n")...)
		}
		return nil
	})
	return out, err
}

func (e *ExecRunner) Restore(data []byte) error {
	return netns.Do(e.NetNS, func() error {
		cmd := exec.Command(e.Backend.binaryFor(e.IPv6, "-restore"), "-w", "5", "--noflush", "--counters")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s%s", e.Backend.binaryFor(e.IPv6, "-restore"), err, bytes.TrimSpace(out), failedLine(data, out))
		}
		return nil
	})
}

// failedLine quotes the input line iptables-restore names in its "Error
// occurred at line: N" message, so a log shows what was refused.
func failedLine(data, out []byte) string {
	_, after, ok := bytes.Cut(out, []byte("Error occurred at line: "))
	if !ok {
		return ""
	}
	end := bytes.IndexFunc(after, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(after)
	}
	n, err := strconv.Atoi(string(after[:end]))
	if err != nil || n < 1 {
		return ""
	}
	lines := bytes.Split(data, []byte("\n"))
	if n > len(lines) {
		return ""
	}
	return fmt.Sprintf(" (line %d: %q)", n, lines[n-1])
}

func (e *ExecRunner) Save(table string) ([]byte, error) {
	var out []byte
	err := netns.Do(e.NetNS, func() error {
		var err error
		out, err = exec.Command(e.Backend.binaryFor(e.IPv6, "-save"), "-t", table).Output()
		if err != nil {
			return fmt.Errorf("%s -t %s: %w", e.Backend.binaryFor(e.IPv6, "-save"), table, err)
		}
		return nil
	})
	return out, err
}

func (e *ExecRunner) ipt(fn func(*goipt.IPTables) error) error {
	return netns.Do(e.NetNS, func() error {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.handle == nil {
			proto := goipt.ProtocolIPv4
			if e.IPv6 {
				proto = goipt.ProtocolIPv6
			}
			ipt, err := goipt.New(goipt.IPFamily(proto), goipt.Timeout(5), goipt.Path(e.Backend.binaryFor(e.IPv6, "")))
			if err != nil {
				return fmt.Errorf("iptables: %w", err)
			}
			e.handle = ipt
		}
		return fn(e.handle)
	})
}

func (e *ExecRunner) EnsureChain(table, chain string) error {
	return e.ipt(func(ipt *goipt.IPTables) error {
		ok, err := ipt.ChainExists(table, chain)
		if err != nil {
			return fmt.Errorf("check chain %s/%s: %w", table, chain, err)
		}
		if ok {
			return nil
		}
		if err := ipt.NewChain(table, chain); err != nil {
			return fmt.Errorf("create chain %s/%s: %w", table, chain, err)
		}
		return nil
	})
}

func (e *ExecRunner) ChainExists(table, chain string) (bool, error) {
	var ok bool
	err := e.ipt(func(ipt *goipt.IPTables) error {
		var err error
		ok, err = ipt.ChainExists(table, chain)
		if err != nil {
			return fmt.Errorf("check chain %s/%s: %w", table, chain, err)
		}
		return nil
	})
	return ok, err
}

func (e *ExecRunner) EnsureRule(appendRule bool, table, chain string, spec ...string) error {
	return e.ipt(func(ipt *goipt.IPTables) error {
		ok, err := ipt.Exists(table, chain, spec...)
		if err != nil {
			return fmt.Errorf("check rule in %s/%s: %w", table, chain, err)
		}
		if ok {
			return nil
		}
		if appendRule {
			err = ipt.Append(table, chain, spec...)
		} else {
			err = ipt.Insert(table, chain, 1, spec...)
		}
		if err != nil {
			return fmt.Errorf("add rule to %s/%s: %w", table, chain, err)
		}
		return nil
	})
}

func (e *ExecRunner) DeleteRule(table, chain string, spec ...string) error {
	return e.ipt(func(ipt *goipt.IPTables) error {
		if ok, _ := ipt.ChainExists(table, chain); !ok {
			return nil
		}
		if err := ipt.DeleteIfExists(table, chain, spec...); err != nil {
			return fmt.Errorf("delete rule from %s/%s: %w", table, chain, err)
		}
		return nil
	})
}

func (e *ExecRunner) Sysctl(name, value string) error {
	return netns.Do(e.NetNS, func() error {
		if err := os.WriteFile(filepath.Join("/proc/sys", name), []byte(value), 0o644); err != nil {
			return fmt.Errorf("sysctl %s: %w", name, err)
		}
		return nil
	})
}
