package interpodaffinity

import (
	"encoding/json"
	"fmt"

	"navarch.dev/scheduler/pkg/framework"
)

// Args are InterPodAffinityArgs.
type Args struct {
	// HardPodAffinityWeight is the score weight an existing pod's required
	// affinity term gives to nodes in its topology (default 1).
	HardPodAffinityWeight *int32 `json:"hardPodAffinityWeight,omitempty"`
}

// New builds the plugin.
func New(raw json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	args := Args{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, fmt.Errorf("InterPodAffinity args: %w", err)
		}
	}
	p := &InterPodAffinity{handle: h, hardWeight: 1}
	if args.HardPodAffinityWeight != nil {
		if w := *args.HardPodAffinityWeight; w < 0 || w > 100 {
			return nil, fmt.Errorf("InterPodAffinity args: hardPodAffinityWeight %d not in [0, 100]", w)
		}
		p.hardWeight = int64(*args.HardPodAffinityWeight)
	}
	if h != nil && h.SharedInformerFactory() != nil {
		p.namespaces = h.SharedInformerFactory().Core().V1().Namespaces().Lister()
	}
	return p, nil
}
