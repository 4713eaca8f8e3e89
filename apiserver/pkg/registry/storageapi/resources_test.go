package storageapi

import (
	"testing"

	"navarch.dev/apiserver/pkg/registry/resourcetest"
)

func TestResources(t *testing.T) {
	resourcetest.Check(t, Resources(), []resourcetest.Want{
		{GroupVersion: "storage.k8s.io/v1", Plural: "storageclasses", Singular: "storageclass", Kind: "StorageClass", ListKind: "StorageClassList", ShortNames: []string{"sc"}},
	})
}
