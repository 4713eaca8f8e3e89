package kubernetes

import (
	"maps"
	"strings"
	"testing"

	"navarch.dev/dns/pkg/plugin"
	"navarch.dev/dns/pkg/plugin/plugintest"
)

func TestSetup(t *testing.T) {
	sub := func(name string, args ...string) plugin.Directive {
		return plugin.Directive{Name: name, Args: args, File: "Corefile", Line: 3}
	}
	tests := []struct {
		name    string
		block   []plugin.Directive
		wantErr string
		check   func(t *testing.T, k *Kubernetes)
	}{
		{name: "defaults", check: func(t *testing.T, k *Kubernetes) {
			if k.TTL != DefaultTTL || k.Pods != PodsDisabled || k.Namespaces != nil || k.NoEndpoints || k.Fallthrough != nil {
				t.Errorf("defaults: %+v", k)
			}
		}},
		{name: "every option", block: []plugin.Directive{
			sub("namespaces", "default", "kube-system"), sub("pods", "verified"), sub("endpoint_pod_names"),
			sub("ttl", "30"), sub("noendpoints"), sub("fallthrough", "in-addr.arpa"),
		}, check: func(t *testing.T, k *Kubernetes) {
			if !maps.Equal(k.Namespaces, map[string]bool{"default": true, "kube-system": true}) {
				t.Errorf("namespaces = %v", k.Namespaces)
			}
			if k.Pods != PodsVerified || !k.EndpointPodNames || k.TTL != 30 || !k.NoEndpoints {
				t.Errorf("options: %+v", k)
			}
			if len(k.Fallthrough) != 1 || k.Fallthrough[0] != "in-addr.arpa." {
				t.Errorf("fallthrough = %v", k.Fallthrough)
			}
		}},
		{name: "fallthrough without zones is every zone", block: []plugin.Directive{sub("fallthrough")},
			check: func(t *testing.T, k *Kubernetes) {
				if k.Fallthrough == nil || len(k.Fallthrough) != 0 {
					t.Errorf("fallthrough = %#v", k.Fallthrough)
				}
			}},
		{name: "namespaces needs a name", block: []plugin.Directive{sub("namespaces")}, wantErr: "want at least one namespace"},
		{name: "namespaces rejects a bad name", block: []plugin.Directive{sub("namespaces", "Bad_NS")}, wantErr: `bad namespace "Bad_NS"`},
		{name: "noendpoints takes no arguments", block: []plugin.Directive{sub("noendpoints", "yes")}, wantErr: "takes no arguments"},
		{name: "unknown pods mode", block: []plugin.Directive{sub("pods", "sometimes")}, wantErr: "want disabled, insecure or verified"},
		{name: "ttl out of range", block: []plugin.Directive{sub("ttl", "3601")}, wantErr: "bad ttl"},
		{name: "unknown property", block: []plugin.Directive{sub("resyncperiod", "30s")}, wantErr: "Corefile:3: resyncperiod: unknown property"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &plugin.Config{Zones: plugin.Zones{"cluster.local."}, Host: plugintest.Host{}}
			err := Setup(c, plugin.Directive{Name: "kubernetes", Block: tt.block, File: "Corefile", Line: 2})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.Build()
			k, ok := c.Handler("kubernetes").(*Kubernetes)
			if !ok {
				t.Fatal("no kubernetes handler in the chain")
			}
			tt.check(t, k)
		})
	}
}
