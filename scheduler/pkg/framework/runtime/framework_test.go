package runtime_test

import (
	"slices"
	"testing"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"navarch.dev/scheduler/pkg/config"
	"navarch.dev/scheduler/pkg/framework/plugins"
	"navarch.dev/scheduler/pkg/framework/runtime"
)

func TestProfiles(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		wantScore []string
		wantErr   bool
	}{
		{name: "defaults", yaml: ``, wantScore: []string{"TaintToleration", "NodeAffinity", "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity", "NodeResourcesBalancedAllocation", "ImageLocality"}},
		{name: "disable a score plugin", yaml: `
profiles:
- plugins:
    score:
      disabled: [{name: NodeResourcesBalancedAllocation}]
`, wantScore: []string{"TaintToleration", "NodeAffinity", "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity", "ImageLocality"}},
		{name: "disable all scores, enable one", yaml: `
profiles:
- plugins:
    score:
      disabled: [{name: "*"}]
      enabled: [{name: NodeAffinity, weight: 5}]
`, wantScore: []string{"NodeAffinity"}},
		{name: "unknown plugin", yaml: `
profiles:
- plugins:
    filter:
      enabled: [{name: Nope}]
`, wantErr: true},
		{name: "plugin without the extension point", yaml: `
profiles:
- plugins:
    score:
      enabled: [{name: NodeName}]
`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
			f, err := runtime.New(cfg.Profiles[0], runtime.Options{Registry: plugins.NewInTreeRegistry(), Defaults: plugins.DefaultPlugins(), InformerFactory: factory})
			if (err != nil) != tt.wantErr {
				t.Fatalf("New error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && !slices.Equal(f.ScorePluginNames(), tt.wantScore) {
				t.Errorf("score plugins = %v, want %v", f.ScorePluginNames(), tt.wantScore)
			}
		})
	}
}

func TestSelectHost(t *testing.T) {
	scores := []runtime.NodePluginScores{{Name: "a", TotalScore: 10}, {Name: "b", TotalScore: 30}, {Name: "c", TotalScore: 30}}
	seen := map[string]bool{}
	for range 200 {
		h, err := runtime.SelectHost(scores)
		if err != nil {
			t.Fatal(err)
		}
		seen[h] = true
	}
	if seen["a"] || !seen["b"] || !seen["c"] {
		t.Errorf("hosts chosen = %v, want ties b and c only", seen)
	}
}
