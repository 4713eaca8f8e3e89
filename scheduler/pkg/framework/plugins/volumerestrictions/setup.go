package volumerestrictions

import (
	"encoding/json"

	"navarch.dev/scheduler/pkg/framework"
)

// New builds the plugin; it takes no args.
func New(_ json.RawMessage, h framework.Handle) (framework.Plugin, error) {
	p := &VolumeRestrictions{}
	if h != nil && h.SharedInformerFactory() != nil {
		p.pvcs = h.SharedInformerFactory().Core().V1().PersistentVolumeClaims().Lister()
	}
	return p, nil
}
