package app

import (
	"errors"
	"log/slog"
	"testing"
)

type fakeKernel struct {
	probe error
	mods  map[string]bool
}

func (f fakeKernel) ProbeIPVS() error                  { return f.probe }
func (f fakeKernel) Modules() (map[string]bool, error) { return f.mods, nil }

func TestChooseMode(t *testing.T) {
	ipvsKernel := fakeKernel{mods: map[string]bool{"ip_vs": true, "ip_vs_rr": true}}
	noIPVS := fakeKernel{probe: errors.New("genl family IPVS not found")}
	tests := []struct {
		name    string
		mode    string
		kernel  fakeKernel
		want    string
		wantErr bool
	}{
		{name: "iptables default", mode: "", kernel: noIPVS, want: ModeIPTables},
		{name: "ipvs available", mode: "ipvs", kernel: ipvsKernel, want: ModeIPVS},
		{name: "ipvs absent falls back", mode: "ipvs", kernel: noIPVS, want: ModeIPTables},
		{name: "unknown mode", mode: "userspace", kernel: ipvsKernel, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Defaults()
			cfg.Mode = tt.mode
			cfg.IPVSKernel = tt.kernel
			got, err := ChooseMode(cfg, slog.Default())
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ChooseMode = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
