package podworker

import (
	"slices"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// containerd's CRI prefixes CAP_ itself: a name passed with the prefix
// becomes CAP_CAP_..., which grants nothing (a DNS pod could not bind :53).
func TestSecurityContextCapabilitiesAsCRITakesThem(t *testing.T) {
	tests := []struct {
		name              string
		add, drop         []v1.Capability
		wantAdd, wantDrop []string
	}{
		{name: "upstream spelling", add: []v1.Capability{"NET_BIND_SERVICE"}, drop: []v1.Capability{"ALL"},
			wantAdd: []string{"NET_BIND_SERVICE"}, wantDrop: []string{"ALL"}},
		{name: "CAP_ prefix and lower case", add: []v1.Capability{"cap_net_admin", "sys_time"}, drop: []v1.Capability{"CAP_CHOWN"},
			wantAdd: []string{"NET_ADMIN", "SYS_TIME"}, wantDrop: []string{"CHOWN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &v1.Pod{}
			c := &v1.Container{SecurityContext: &v1.SecurityContext{Capabilities: &v1.Capabilities{Add: tt.add, Drop: tt.drop}}}
			sc := securityContext(pod, c)
			if got := sc.Capabilities.AddCapabilities; !slices.Equal(got, tt.wantAdd) {
				t.Errorf("add = %v, want %v", got, tt.wantAdd)
			}
			if got := sc.Capabilities.DropCapabilities; !slices.Equal(got, tt.wantDrop) {
				t.Errorf("drop = %v, want %v", got, tt.wantDrop)
			}
		})
	}
}
