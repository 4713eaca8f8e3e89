package podworker

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

// The sandbox's hostname: the pod's own unless it shares the node's UTS
// namespace, where the runtime may not set one (runc refuses to start it).
func TestSandboxHostname(t *testing.T) {
	tests := []struct {
		name string
		pod  *v1.Pod
		want string
	}{
		{name: "pod name", pod: makePod("web"), want: "web"},
		{name: "spec.hostname", pod: makePod("web", func(p *v1.Pod) { p.Spec.Hostname = "db-0" }), want: "db-0"},
		{name: "host network", pod: makePod("apiserver", func(p *v1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.DNSPolicy = v1.DNSClusterFirstWithHostNet
		}), want: ""},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := e.w.sandboxConfig(tc.pod, 0)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Hostname != tc.want {
				t.Errorf("sandbox hostname %q, want %q", cfg.Hostname, tc.want)
			}
		})
	}
}
