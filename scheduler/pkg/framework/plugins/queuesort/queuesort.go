// Package queuesort is the PrioritySort plugin: the active queue pops the
// pod with the highest priority first, and among equals the one queued
// first.
package queuesort

import "navarch.dev/scheduler/pkg/framework"

// Name is the plugin's name in the registry and config.
const Name = "PrioritySort"

// PrioritySort orders pods by priority, then queue time.
type PrioritySort struct{}

var _ framework.QueueSortPlugin = (*PrioritySort)(nil)

// Name implements framework.Plugin.
func (*PrioritySort) Name() string { return Name }

// Less implements framework.QueueSortPlugin.
func (*PrioritySort) Less(a, b *framework.QueuedPodInfo) bool {
	pa, pb := framework.PodPriority(a.Pod), framework.PodPriority(b.Pod)
	return pa > pb || (pa == pb && a.Timestamp.Before(b.Timestamp))
}
