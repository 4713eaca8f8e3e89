package app

import (
	"slices"
	"testing"

	"github.com/spf13/pflag"
)

func TestEnabledControllers(t *testing.T) {
	all := ControllerNames()
	tests := []struct {
		name    string
		list    []string
		want    []string
		wantErr bool
	}{
		{name: "star enables all", list: []string{"*"}, want: all},
		{name: "one by name", list: []string{"deployment"}, want: []string{"deployment"}},
		{name: "star minus one", list: []string{"*", "-garbagecollector"}, want: slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "garbagecollector" })},
		{name: "unknown name", list: []string{"nope"}, wantErr: true},
		{name: "unknown disabled name", list: []string{"*", "-nope"}, wantErr: true},
		{name: "empty list", list: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EnabledControllers(tt.list)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	o := NewOptions()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	o.AddFlags(fs)
	err := fs.Parse([]string{"--controllers=*,-namespace", "--concurrent-deployment-syncs=7",
		"--leader-elect=false", "--secure-port=0", "--leader-elect-resource-name=other"})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.ConcurrentDeploymentSyncs != 7 || o.LeaderElection.LeaderElect || o.SecurePort != 0 || o.LeaderElection.ResourceName != "other" {
		t.Errorf("options not parsed: %+v", o)
	}
	if d := NewOptions(); d.LeaderElection.ResourceNamespace != "kube-system" || d.LeaderElection.ResourceName != "kube-controller-manager" || d.SecurePort != 10252 {
		t.Errorf("defaults: %+v", d)
	}
}
