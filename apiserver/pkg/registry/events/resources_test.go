package events

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: "events.k8s.io/v1", Plural: "events", Singular: "event", Kind: "Event", ListKind: "EventList", Namespaced: true, ShortNames: []string{"ev"}, Stored: "v1/events"},
	})
}
