package tables

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
)

// leaseCells renders a lease: NAME HOLDER AGE.
func leaseCells(l *coordinationv1.Lease, now time.Time) []interface{} {
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	return []interface{}{l.Name, holder, since(l.CreationTimestamp, now)}
}
