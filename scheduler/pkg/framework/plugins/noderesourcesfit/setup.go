package noderesourcesfit

import (
	"encoding/json"
	"fmt"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Scoring strategies.
const (
	LeastAllocated = "LeastAllocated"
	MostAllocated  = "MostAllocated"
)

// ResourceSpec is a resource and its weight in the score.
type ResourceSpec struct {
	Name   v1.ResourceName `json:"name"`
	Weight int64           `json:"weight"`
}

// ScoringStrategy picks how nodes are ranked.
type ScoringStrategy struct {
	Type      string         `json:"type,omitempty"`
	Resources []ResourceSpec `json:"resources,omitempty"`
}

// Args are NodeResourcesFitArgs.
type Args struct {
	// IgnoredResources are extended resources the filter does not check.
	IgnoredResources []string         `json:"ignoredResources,omitempty"`
	ScoringStrategy  *ScoringStrategy `json:"scoringStrategy,omitempty"`
}

// New builds the plugin from its args (defaults: LeastAllocated over cpu
// and memory, weight 1 each).
func New(raw json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	args := Args{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, fmt.Errorf("NodeResourcesFit args: %w", err)
		}
	}
	if args.ScoringStrategy == nil {
		args.ScoringStrategy = &ScoringStrategy{}
	}
	s := args.ScoringStrategy
	if s.Type == "" {
		s.Type = LeastAllocated
	}
	if s.Type != LeastAllocated && s.Type != MostAllocated {
		return nil, fmt.Errorf("NodeResourcesFit args: scoringStrategy.type %q is not supported", s.Type)
	}
	if len(s.Resources) == 0 {
		s.Resources = []ResourceSpec{{Name: v1.ResourceCPU, Weight: 1}, {Name: v1.ResourceMemory, Weight: 1}}
	}
	for _, r := range s.Resources {
		if r.Weight <= 0 || r.Weight > 100 {
			return nil, fmt.Errorf("NodeResourcesFit args: resource %q weight %d must be in [1, 100]", r.Name, r.Weight)
		}
	}
	ignored := map[v1.ResourceName]bool{}
	for _, r := range args.IgnoredResources {
		ignored[v1.ResourceName(r)] = true
	}
	return &Fit{ignored: ignored, strategy: *s}, nil
}
