package nodeaffinity

import (
	"encoding/json"
	"fmt"

	v1 "k8s.io/api/core/v1"

	"navarch.dev/scheduler/pkg/framework"
)

// Args are NodeAffinityArgs: AddedAffinity applies to every pod of the
// profile, on top of the pod's own.
type Args struct {
	AddedAffinity *v1.NodeAffinity `json:"addedAffinity,omitempty"`
}

// New builds the plugin.
func New(raw json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	args := Args{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, fmt.Errorf("NodeAffinity args: %w", err)
		}
	}
	return &NodeAffinity{added: args.AddedAffinity}, nil
}
