package defaultbinder

import (
	"encoding/json"

	"navarch.dev/scheduler/pkg/framework"
)

// New builds the plugin; it takes no args.
func New(_ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	return &DefaultBinder{handle: h}, nil
}
