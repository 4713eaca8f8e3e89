package autoscaling

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	all := []string{"all"}
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: "autoscaling/v2", Plural: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler", Kind: "HorizontalPodAutoscaler", ListKind: "HorizontalPodAutoscalerList", Namespaced: true, ShortNames: []string{"hpa"}, Categories: all, Status: true},
		{GroupVersion: "autoscaling/v1", Plural: "horizontalpodautoscalers", Singular: "horizontalpodautoscaler", Kind: "HorizontalPodAutoscaler", ListKind: "HorizontalPodAutoscalerList", Namespaced: true, ShortNames: []string{"hpa"}, Categories: all, Status: true, Stored: "autoscaling/v2/horizontalpodautoscalers"},
	})
}
