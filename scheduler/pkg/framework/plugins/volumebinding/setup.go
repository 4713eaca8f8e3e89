package volumebinding

import (
	"encoding/json"
	"errors"

	"navarch.dev/scheduler/pkg/framework"
)

// New builds the plugin; it reads claims, volumes and storage classes
// through the scheduler's informers.
func New(_ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	if h == nil || h.SharedInformerFactory() == nil {
		return nil, errors.New("VolumeBinding needs informers")
	}
	f := h.SharedInformerFactory()
	return &VolumeBinding{
		pvcs:    f.Core().V1().PersistentVolumeClaims().Lister(),
		pvs:     f.Core().V1().PersistentVolumes().Lister(),
		classes: f.Storage().V1().StorageClasses().Lister(),
	}, nil
}
