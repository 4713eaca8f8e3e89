package ipalloc

// RepairReport says what Repair changed and what it found wrong. T is net.IP
// or int (a port).
type RepairReport[T any] struct {
	// Restored were in use but not marked allocated; now they are.
	Restored []T
	// Reclaimed were allocated, used by no object and older than the leak
	// grace; now they are free.
	Reclaimed []T
	// Pending are allocated and unused but younger than the leak grace; kept.
	Pending []T
	// OutOfRange are in use but outside the range (the range was changed).
	OutOfRange []T
	// Duplicates appeared more than once in inUse: objects sharing a value.
	Duplicates []T
}

func mapSlots[T any](slots []int, f func(int) T) []T {
	if len(slots) == 0 {
		return nil
	}
	out := make([]T, len(slots))
	for i, s := range slots {
		out[i] = f(s)
	}
	return out
}
