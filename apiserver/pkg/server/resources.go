package server

import (
	"navarch.dev/apiserver/pkg/registry"
	"navarch.dev/apiserver/pkg/registry/core"
)

// Resources is every resource the apiserver serves, group by group.
func Resources() []*registry.Resource {
	var all []*registry.Resource
	for _, group := range [][]*registry.Resource{
		core.Resources(),
	} {
		all = append(all, group...)
	}
	return all
}
