package imagelocality

import (
	"encoding/json"

	"navarch.dev/scheduler/pkg/framework"
)

// New builds the plugin; it takes no args.
func New(_ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	return &ImageLocality{handle: h}, nil
}
