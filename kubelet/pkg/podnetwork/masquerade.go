package podnetwork

import (
	"fmt"
	"net"
	"strings"

	"github.com/coreos/go-iptables/iptables"
)

// MasqueradeChain holds the kubelet's one pod MASQUERADE rule; POSTROUTING
// in the nat table jumps to it.
const MasqueradeChain = "NAVARCH-POD-MASQ"

// Iptables is the part of go-iptables the masquerade rule needs.
type Iptables interface {
	ChainExists(table, chain string) (bool, error)
	NewChain(table, chain string) error
	ClearChain(table, chain string) error
	List(table, chain string) ([]string, error)
	Append(table, chain string, rulespec ...string) error
	AppendUnique(table, chain string, rulespec ...string) error
}

var _ Iptables = (*iptables.IPTables)(nil)

// MasqueradeRule is the rule that masquerades traffic from podCIDR to
// addresses outside nonMasqueradeCIDR (the cluster's pod network): pods reach
// the world and the node's neighbours with the node's address, while pod to
// pod traffic keeps its source.
func MasqueradeRule(podCIDR, nonMasqueradeCIDR string) ([]string, error) {
	_, pod, err := net.ParseCIDR(podCIDR)
	if err != nil {
		return nil, fmt.Errorf("podnetwork: pod CIDR %q: %w", podCIDR, err)
	}
	_, cluster, err := net.ParseCIDR(nonMasqueradeCIDR)
	if err != nil {
		return nil, fmt.Errorf("podnetwork: non-masquerade CIDR %q: %w", nonMasqueradeCIDR, err)
	}
	return []string{"-s", pod.String(), "!", "-d", cluster.String(),
		"-m", "comment", "--comment", "navarch pod traffic leaving the cluster", "-j", "MASQUERADE"}, nil
}

// EnsureMasquerade installs the masquerade rule for podCIDR in its own chain,
// replacing whatever that chain held, and the jump to it from POSTROUTING. A
// chain that already holds exactly the rule is left alone.
func EnsureMasquerade(ipt Iptables, podCIDR, nonMasqueradeCIDR string) error {
	rule, err := MasqueradeRule(podCIDR, nonMasqueradeCIDR)
	if err != nil {
		return err
	}
	ok, err := ipt.ChainExists("nat", MasqueradeChain)
	if err != nil {
		return fmt.Errorf("podnetwork: %w", err)
	}
	if !ok {
		if err := ipt.NewChain("nat", MasqueradeChain); err != nil {
			return fmt.Errorf("podnetwork: %w", err)
		}
	}
	rules, err := ipt.List("nat", MasqueradeChain)
	if err != nil {
		return fmt.Errorf("podnetwork: %w", err)
	}
	// List prints "-N chain" then the rules as "-A chain <spec>".
	if !(len(rules) == 2 && rulesMatch(rules[1], rule)) {
		if err := ipt.ClearChain("nat", MasqueradeChain); err != nil {
			return fmt.Errorf("podnetwork: %w", err)
		}
		if err := ipt.Append("nat", MasqueradeChain, rule...); err != nil {
			return fmt.Errorf("podnetwork: masquerade rule: %w", err)
		}
	}
	if err := ipt.AppendUnique("nat", "POSTROUTING", "-m", "comment", "--comment", "navarch pod masquerade", "-j", MasqueradeChain); err != nil {
		return fmt.Errorf("podnetwork: jump to %s: %w", MasqueradeChain, err)
	}
	return nil
}

// rulesMatch compares a rule as iptables -S prints it with the spec given
// to Append (iptables prints the comment quoted and the CIDRs normalised).
func rulesMatch(listed string, spec []string) bool {
	want := "-A " + MasqueradeChain
	for _, s := range spec {
		if strings.Contains(s, " ") {
			s = `"` + s + `"`
		}
		want += " " + s
	}
	return listed == want
}
