package tables

import (
	"time"

	policyv1 "k8s.io/api/policy/v1"
)

// podDisruptionBudgetCells renders a PDB: NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS
// AGE, "N/A" for the bound that is not set.
func podDisruptionBudgetCells(pdb *policyv1.PodDisruptionBudget, now time.Time) []interface{} {
	minAvailable, maxUnavailable := "N/A", "N/A"
	if pdb.Spec.MinAvailable != nil {
		minAvailable = pdb.Spec.MinAvailable.String()
	}
	if pdb.Spec.MaxUnavailable != nil {
		maxUnavailable = pdb.Spec.MaxUnavailable.String()
	}
	return []interface{}{pdb.Name, minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed), since(pdb.CreationTimestamp, now)}
}
