package ipvs

import (
	"errors"
	"testing"
)

type fakeKernel struct {
	probe error
	mods  map[string]bool
}

func (f fakeKernel) ProbeIPVS() error                  { return f.probe }
func (f fakeKernel) Modules() (map[string]bool, error) { return f.mods, nil }

func TestCheck(t *testing.T) {
	withRR := map[string]bool{"ip_vs": true, "ip_vs_rr": true}
	tests := []struct {
		name        string
		kernel      fakeKernel
		scheduler   string
		unavailable bool
		wantErr     bool
	}{
		{name: "ipvs with rr", kernel: fakeKernel{mods: withRR}, scheduler: "rr"},
		{name: "no ipvs family", kernel: fakeKernel{probe: errors.New("no such file or directory"), mods: withRR}, scheduler: "rr", unavailable: true, wantErr: true},
		{name: "scheduler module missing", kernel: fakeKernel{mods: withRR}, scheduler: "sh", unavailable: true, wantErr: true},
		{name: "unknown scheduler", kernel: fakeKernel{mods: withRR}, scheduler: "wlc2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.kernel, tt.scheduler)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Check = %v, want error %v", err, tt.wantErr)
			}
			if errors.Is(err, ErrUnavailable) != tt.unavailable {
				t.Errorf("Check = %v, want unavailable %v", err, tt.unavailable)
			}
		})
	}
}

// TestHostKernelHasNoIPVS pins the fact of this machine kind (DESIGN §5):
// the kernel has no IPVS, so the proxy must fall back.
func TestHostKernelHasNoIPVS(t *testing.T) {
	if err := Check(HostKernel{}, "rr"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Check(host) = %v, want ErrUnavailable on this kernel", err)
	}
}
