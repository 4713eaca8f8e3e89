package balancedallocation

import (
	"encoding/json"
	"fmt"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Args are NodeResourcesBalancedAllocationArgs.
type Args struct {
	Resources []struct {
		Name   v1.ResourceName `json:"name"`
		Weight int64           `json:"weight,omitempty"`
	} `json:"resources,omitempty"`
}

// New builds the plugin (default resources: cpu and memory).
func New(raw json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	args := Args{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, fmt.Errorf("NodeResourcesBalancedAllocation args: %w", err)
		}
	}
	b := &BalancedAllocation{}
	for _, r := range args.Resources {
		b.resources = append(b.resources, r.Name)
	}
	if len(b.resources) == 0 {
		b.resources = []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory}
	}
	return b, nil
}
