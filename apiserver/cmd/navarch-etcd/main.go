// Command navarch-etcd is etcd itself (go.etcd.io/etcd/server/v3/etcdmain),
// built from the version the apiserver embeds, so that a control-plane node
// can run an etcd member from the same release as its apiserver: as the
// static pod in manifests/static-pods/etcd.yaml, or anywhere etcd runs. Its
// flags, environment variables (ETCD_*) and behaviour are etcd's own.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
