package nodename

import (
	"encoding/json"

	"navarch.dev/scheduler/pkg/framework"
)

// New builds the plugin; it takes no args.
func New(_ json.RawMessage, _ framework.Handle) (framework.Plugin, error) {
	return &NodeName{}, nil
}
