package bind

import (
	"slices"
	"testing"

	"navarch.dev/dns/pkg/plugin"
)

func TestSetup(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr bool
	}{
		{name: "one", args: []string{"127.0.0.1"}, want: []string{"127.0.0.1"}},
		{name: "two", args: []string{"127.0.0.1", "::1"}, want: []string{"127.0.0.1", "::1"}},
		{name: "none", wantErr: true},
		{name: "not an address", args: []string{"eth0"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &plugin.Config{}
			err := Setup(c, plugin.Directive{Name: "bind", Args: tt.args})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !slices.Equal(c.ListenHosts, tt.want) {
				t.Errorf("ListenHosts = %v, want %v", c.ListenHosts, tt.want)
			}
		})
	}
}
