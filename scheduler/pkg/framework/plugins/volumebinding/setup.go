package volumebinding

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"navarch.dev/scheduler/pkg/framework"
)

// Args are the plugin's pluginConfig args (upstream's VolumeBindingArgs,
// the field Navarch uses).
type Args struct {
	// BindTimeoutSeconds bounds PreBind's wait for the bindings (default
	// 600).
	BindTimeoutSeconds *int64 `json:"bindTimeoutSeconds,omitempty"`
}

// New builds the plugin; it reads claims, volumes and storage classes
// through the scheduler's informers and writes bindings with its client.
func New(raw json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	if h == nil || h.SharedInformerFactory() == nil {
		return nil, errors.New("VolumeBinding needs informers")
	}
	var args Args
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &args); err != nil {
			return nil, fmt.Errorf("VolumeBinding args: %w", err)
		}
	}
	timeout := DefaultBindTimeout
	if args.BindTimeoutSeconds != nil {
		if *args.BindTimeoutSeconds <= 0 {
			return nil, fmt.Errorf("VolumeBinding args: bindTimeoutSeconds must be positive, got %d", *args.BindTimeoutSeconds)
		}
		timeout = time.Duration(*args.BindTimeoutSeconds) * time.Second
	}
	f := h.SharedInformerFactory()
	return &VolumeBinding{
		client:      h.ClientSet(),
		pvcs:        f.Core().V1().PersistentVolumeClaims().Lister(),
		pvs:         f.Core().V1().PersistentVolumes().Lister(),
		classes:     f.Storage().V1().StorageClasses().Lister(),
		bindTimeout: timeout,
		poll:        100 * time.Millisecond,
	}, nil
}
