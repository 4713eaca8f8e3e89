// Package ipalloc allocates Service ClusterIPs and NodePorts from ranges whose
// state lives in etcd, so that several apiservers sharing one etcd never hand
// out the same IP or port twice.
//
// A range is an ordered set of slots kept as a bitmap at one etcd key (the
// apiserver uses <prefix>/ranges/serviceips and <prefix>/ranges/servicenodeports).
// Every change is a compare-and-swap transaction on the key's ModRevision,
// retried on conflict. The stored value names the range it belongs to: an
// allocator configured with a different range refuses to use it
// (ErrRangeChanged) instead of resetting it. To move to another range, an
// operator deletes the key; the next write stores the new range, and Repair
// restores the Services' addresses that fall in it and reports the others.
//
// Dynamic allocation (AllocateNext) picks a random free slot, preferring the
// upper part of the range and leaving a lower band to explicit ("static")
// allocations until the upper part is full, as upstream Kubernetes does
// (KEP-3070 for ClusterIPs, KEP-3668 for NodePorts).
//
// Allocations made by requests that later failed leak; Repair, given what the
// stored objects use, gives them back.
package ipalloc
