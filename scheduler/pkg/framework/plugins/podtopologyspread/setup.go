package podtopologyspread

import (
	"encoding/json"

	"navarch.dev/scheduler/pkg/framework"
)

// New builds the plugin; it takes no args (no cluster-level default
// constraints yet).
func New(_ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	return &PodTopologySpread{handle: h}, nil
}
