package server

import (
	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/apps"
	"navarch.dev/apiserver/pkg/registry/autoscaling"
	"navarch.dev/apiserver/pkg/registry/batch"
	"navarch.dev/apiserver/pkg/registry/coordination"
	"navarch.dev/apiserver/pkg/registry/core"
	"navarch.dev/apiserver/pkg/registry/discovery"
	"navarch.dev/apiserver/pkg/registry/events"
	"navarch.dev/apiserver/pkg/registry/networking"
	"navarch.dev/apiserver/pkg/registry/policy"
	"navarch.dev/apiserver/pkg/registry/rbac"
	"navarch.dev/apiserver/pkg/registry/scheduling"
	"navarch.dev/apiserver/pkg/registry/storageapi"
)

// Resources is every resource the apiserver serves, group by group.
func Resources() []*registry.Resource {
	var all []*registry.Resource
	for _, group := range [][]*registry.Resource{
		core.Resources(),
		apps.Resources(),
		autoscaling.Resources(),
		batch.Resources(),
		coordination.Resources(),
		discovery.Resources(),
		events.Resources(),
		networking.Resources(),
		policy.Resources(),
		rbac.Resources(),
		scheduling.Resources(),
		storageapi.Resources(),
	} {
		all = append(all, group...)
	}
	return all
}
