package podnetwork

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfList(t *testing.T) {
	tests := []struct {
		name    string
		bridge  Bridge
		subnet  string
		dataDir string
		wantErr string
	}{
		{name: "node range", bridge: Bridge{PodCIDR: "10.244.3.0/24"}, subnet: "10.244.3.0/24"},
		{name: "host bits cleared", bridge: Bridge{PodCIDR: "10.244.3.7/24"}, subnet: "10.244.3.0/24"},
		{name: "own lease dir", bridge: Bridge{PodCIDR: "10.244.0.0/24", IPAMDataDir: "/var/lib/n1/ipam"}, subnet: "10.244.0.0/24", dataDir: "/var/lib/n1/ipam"},
		{name: "not a CIDR", bridge: Bridge{PodCIDR: "10.244.3.0"}, wantErr: `pod CIDR "10.244.3.0"`},
		{name: "IPv6", bridge: Bridge{PodCIDR: "fd00::/64"}, wantErr: "only IPv4"},
		{name: "too small", bridge: Bridge{PodCIDR: "10.244.3.0/31"}, wantErr: "no room"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := ConfList(tc.bridge)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var conf struct {
				CNIVersion string `json:"cniVersion"`
				Name       string
				Plugins    []struct {
					Type        string
					Bridge      string
					IsGateway   bool
					IPMasq      *bool
					HairpinMode bool
					PromiscMode bool
					IPAM        struct {
						Type    string
						DataDir string
						Ranges  [][]struct{ Subnet string }
						Routes  []struct{ Dst string }
					}
					Capabilities map[string]bool
				}
			}
			if err := json.Unmarshal(data, &conf); err != nil {
				t.Fatalf("conflist is not JSON: %v\n%s", err, data)
			}
			if conf.Name != "navarch" || conf.CNIVersion == "" || len(conf.Plugins) != 3 {
				t.Fatalf("conflist = %s", data)
			}
			br := conf.Plugins[0]
			if br.Type != "bridge" || br.Bridge != "cbr0" || !br.IsGateway || !br.HairpinMode || br.PromiscMode {
				t.Errorf("bridge plugin = %+v", br)
			}
			if br.IPMasq == nil || *br.IPMasq {
				t.Errorf("ipMasq = %v, want an explicit false", br.IPMasq)
			}
			if br.IPAM.Type != "host-local" || len(br.IPAM.Ranges) != 1 || len(br.IPAM.Ranges[0]) != 1 || br.IPAM.Ranges[0][0].Subnet != tc.subnet {
				t.Errorf("ipam = %+v, want host-local on %s", br.IPAM, tc.subnet)
			}
			if len(br.IPAM.Routes) != 1 || br.IPAM.Routes[0].Dst != "0.0.0.0/0" {
				t.Errorf("ipam routes = %+v, want a default route", br.IPAM.Routes)
			}
			if br.IPAM.DataDir != tc.dataDir {
				t.Errorf("ipam dataDir = %q, want %q", br.IPAM.DataDir, tc.dataDir)
			}
			if conf.Plugins[1].Type != "portmap" || !conf.Plugins[1].Capabilities["portMappings"] || conf.Plugins[2].Type != "loopback" {
				t.Errorf("chain = %s, want bridge, portmap, loopback", data)
			}
		})
	}
}

func TestWriteConfList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "net.d")
	changed, err := WriteConfList(dir, Bridge{PodCIDR: "10.244.1.0/24"})
	if err != nil || !changed {
		t.Fatalf("first write: changed=%v err=%v", changed, err)
	}
	changed, err = WriteConfList(dir, Bridge{PodCIDR: "10.244.1.0/24"})
	if err != nil || changed {
		t.Fatalf("same config again: changed=%v err=%v, want unchanged", changed, err)
	}
	changed, err = WriteConfList(dir, Bridge{PodCIDR: "10.244.2.0/24"})
	if err != nil || !changed {
		t.Fatalf("new range: changed=%v err=%v", changed, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != ConfListName {
		t.Fatalf("directory holds %v, want only %s (no temporary files)", entries, ConfListName)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ConfListName))
	if !strings.Contains(string(data), `"10.244.2.0/24"`) {
		t.Errorf("file = %s, want the new range", data)
	}
	if _, err := WriteConfList(dir, Bridge{PodCIDR: "bogus"}); err == nil {
		t.Error("a bad range was written")
	}
}
