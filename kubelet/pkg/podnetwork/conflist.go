package podnetwork

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// ConfListName is the file the kubelet writes in the CNI config directory.
// It is the name hack/node-setup.sh gives its static network, so that the
// kubelet's config replaces that one rather than sorting beside it
// (containerd loads only the first file of the directory).
const ConfListName = "10-navarch.conflist"

// Bridge describes the node's pod bridge network.
type Bridge struct {
	// Name is the CNI network name (default "navarch").
	Name string
	// Bridge is the Linux bridge the pods attach to (default "cbr0", as
	// upstream kubenet; hack/node-setup.sh's static network uses navarch0).
	Bridge string
	// PodCIDR is this node's pod range (the Node's spec.podCIDR).
	PodCIDR string
	// IPAMDataDir is where host-local keeps its leases ("" for the plugin
	// default, /var/lib/cni/networks). Nodes that share a filesystem need
	// distinct directories.
	IPAMDataDir string
}

// ConfList renders the bridge + host-local + portmap + loopback conflist for
// b. ipMasq is off: one MASQUERADE rule per node (see Masquerade) does what
// the bridge plugin would otherwise install, slowly, for every pod.
func ConfList(b Bridge) ([]byte, error) {
	ip, cidr, err := net.ParseCIDR(b.PodCIDR)
	if err != nil {
		return nil, fmt.Errorf("podnetwork: pod CIDR %q: %w", b.PodCIDR, err)
	}
	if ip.To4() == nil {
		return nil, fmt.Errorf("podnetwork: pod CIDR %q: only IPv4 is supported", b.PodCIDR)
	}
	if ones, bits := cidr.Mask.Size(); bits-ones < 2 {
		return nil, fmt.Errorf("podnetwork: pod CIDR %q leaves no room for pods", b.PodCIDR)
	}
	if b.Name == "" {
		b.Name = "navarch"
	}
	if b.Bridge == "" {
		b.Bridge = "cbr0"
	}
	ipam := map[string]any{
		"type":   "host-local",
		"ranges": [][]map[string]string{{{"subnet": cidr.String()}}},
		"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
	}
	if b.IPAMDataDir != "" {
		ipam["dataDir"] = b.IPAMDataDir
	}
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       b.Name,
		"plugins": []any{
			map[string]any{
				"type":        "bridge",
				"bridge":      b.Bridge,
				"isGateway":   true,
				"ipMasq":      false,
				"hairpinMode": true,
				"ipam":        ipam,
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
			map[string]any{"type": "loopback"},
		},
	}
	out, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// WriteConfList writes the conflist for b into dir as ConfListName, through
// a temporary file and a rename so that the runtime never reads half a file.
// It reports whether the file changed.
func WriteConfList(dir string, b Bridge) (bool, error) {
	data, err := ConfList(b)
	if err != nil {
		return false, err
	}
	path := filepath.Join(dir, ConfListName)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("podnetwork: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".navarch-cni-*")
	if err != nil {
		return false, fmt.Errorf("podnetwork: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, fmt.Errorf("podnetwork: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("podnetwork: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return false, fmt.Errorf("podnetwork: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("podnetwork: %w", err)
	}
	return true, nil
}
