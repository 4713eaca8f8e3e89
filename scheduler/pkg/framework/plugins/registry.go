// Package plugins holds the in-tree plugin table: every plugin the
// scheduler can run, and the default profile's plugins with their score
// weights.
package plugins

import (
	"navarch.dev/scheduler/pkg/framework/plugins/balancedallocation"
	"navarch.dev/scheduler/pkg/framework/plugins/defaultbinder"
	"navarch.dev/scheduler/pkg/framework/plugins/defaultpreemption"
	"navarch.dev/scheduler/pkg/framework/plugins/imagelocality"
	"navarch.dev/scheduler/pkg/framework/plugins/interpodaffinity"
	"navarch.dev/scheduler/pkg/framework/plugins/nodeaffinity"
	"navarch.dev/scheduler/pkg/framework/plugins/nodename"
	"navarch.dev/scheduler/pkg/framework/plugins/nodeports"
	"navarch.dev/scheduler/pkg/framework/plugins/noderesourcesfit"
	"navarch.dev/scheduler/pkg/framework/plugins/nodeunschedulable"
	"navarch.dev/scheduler/pkg/framework/plugins/podtopologyspread"
	"navarch.dev/scheduler/pkg/framework/plugins/queuesort"
	"navarch.dev/scheduler/pkg/framework/plugins/tainttoleration"
	"navarch.dev/scheduler/pkg/framework/plugins/volumebinding"
	"navarch.dev/scheduler/pkg/framework/plugins/volumerestrictions"
	"navarch.dev/scheduler/pkg/framework/runtime"
)

// NewInTreeRegistry returns every in-tree plugin by name.
func NewInTreeRegistry() runtime.Registry {
	return runtime.Registry{
		queuesort.Name:          queuesort.New,
		nodeunschedulable.Name:  nodeunschedulable.New,
		nodename.Name:           nodename.New,
		tainttoleration.Name:    tainttoleration.New,
		nodeaffinity.Name:       nodeaffinity.New,
		nodeports.Name:          nodeports.New,
		noderesourcesfit.Name:   noderesourcesfit.New,
		volumerestrictions.Name: volumerestrictions.New,
		volumebinding.Name:      volumebinding.New,
		podtopologyspread.Name:  podtopologyspread.New,
		interpodaffinity.Name:   interpodaffinity.New,
		defaultpreemption.Name:  defaultpreemption.New,
		balancedallocation.Name: balancedallocation.New,
		imagelocality.Name:      imagelocality.New,
		defaultbinder.Name:      defaultbinder.New,
	}
}

// DefaultPlugins is the default profile, in upstream's order, with
// upstream's score weights.
func DefaultPlugins() []runtime.DefaultPlugin {
	return []runtime.DefaultPlugin{
		{Name: queuesort.Name},
		{Name: nodeunschedulable.Name},
		{Name: nodename.Name},
		{Name: tainttoleration.Name, Weight: 3},
		{Name: nodeaffinity.Name, Weight: 2},
		{Name: nodeports.Name},
		{Name: noderesourcesfit.Name, Weight: 1},
		{Name: volumerestrictions.Name},
		{Name: volumebinding.Name},
		{Name: podtopologyspread.Name, Weight: 2},
		{Name: interpodaffinity.Name, Weight: 2},
		{Name: defaultpreemption.Name},
		{Name: balancedallocation.Name, Weight: 1},
		{Name: imagelocality.Name, Weight: 1},
		{Name: defaultbinder.Name},
	}
}
