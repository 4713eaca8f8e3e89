package server

import (
	"fmt"
	"testing"

	"github.com/spf13/pflag"
)

func TestServiceClusterIPRangeFlag(t *testing.T) {
	tests := []struct {
		name    string
		value   string
		want    []string // the ranges, primary first
		wantErr string
	}{
		{name: "default", value: "10.96.0.0/12", want: []string{"10.96.0.0/12"}},
		{name: "IPv6 only", value: "fd00:10:96::/112", want: []string{"fd00:10:96::/112"}},
		{name: "dual-stack", value: "10.96.0.0/16,fd00:10:96::/112", want: []string{"10.96.0.0/16", "fd00:10:96::/112"}},
		{name: "dual-stack, IPv6 primary", value: "fd00:10:96::/112,10.96.0.0/16", want: []string{"fd00:10:96::/112", "10.96.0.0/16"}},
		{name: "unmasked address is masked", value: "10.96.3.4/16", want: []string{"10.96.0.0/16"}},
		{name: "largest IPv6 range", value: "fd00::/108", want: []string{"fd00::/108"}},
		{name: "empty", value: "",
			wantErr: "--service-cluster-ip-range must contain at least one valid cidr"},
		{name: "three ranges", value: "10.96.0.0/16,fd00:10:96::/112,10.97.0.0/16",
			wantErr: "--service-cluster-ip-range must not contain more than two entries"},
		{name: "two IPv4 ranges", value: "10.96.0.0/16,10.97.0.0/16",
			wantErr: "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP family"},
		{name: "two IPv6 ranges", value: "fd00:1::/112,fd00:2::/112",
			wantErr: "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP family"},
		{name: "not a CIDR", value: "10.96.0.0",
			wantErr: `--service-cluster-ip-range[0] "10.96.0.0" is not a valid cidr`},
		{name: "secondary not a CIDR", value: "10.96.0.0/16,fd00::/300",
			wantErr: `--service-cluster-ip-range[1] "fd00::/300" is not a valid cidr`},
		{name: "space after the comma", value: "10.96.0.0/16, fd00::/112",
			wantErr: `--service-cluster-ip-range[1] " fd00::/112" is not a valid cidr`},
		{name: "IPv4 too large", value: "10.0.0.0/8",
			wantErr: "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12"},
		{name: "IPv6 primary too large", value: "fd00::/64",
			wantErr: "specified --service-cluster-ip-range is too large; for 128-bit addresses, the mask must be >= 108"},
		{name: "IPv6 secondary too large", value: "10.96.0.0/16,fd00::/64",
			wantErr: "specified --service-cluster-ip-range[1] is too large; for 128-bit addresses, the mask must be >= 108"},
		{name: "primary too small", value: "10.96.0.0/30",
			wantErr: "the service cluster IP range must be at least 8 IP addresses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseServiceIPRanges(tt.value)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("ranges = %v, want %v", got, tt.want)
			}

			// The flag as an operator passes it: Complete accepts it, and
			// the primary range's first address is the one
			// default/kubernetes and the serving certificate get.
			o := NewOptions()
			fs := pflag.NewFlagSet("apiserver", pflag.ContinueOnError)
			o.AddFlags(fs)
			if err := fs.Parse([]string{"--service-cluster-ip-range=" + tt.value, "--data-dir=" + t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			if err := o.Complete(); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			first := firstIP(o.ServiceClusterIPRange)
			if first == nil || !got[0].Contains(first) || first.Equal(got[0].IP) {
				t.Errorf("first IP %v, want the address after %v", first, got[0].IP)
			}
		})
	}
}

func TestCompleteRejectsBadServiceRange(t *testing.T) {
	o := NewOptions()
	o.DataDir = t.TempDir()
	o.ServiceClusterIPRange = "10.96.0.0/16,10.97.0.0/16"
	err := o.Complete()
	if err == nil || err.Error() != "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP family" {
		t.Fatalf("Complete() = %v", err)
	}
}
