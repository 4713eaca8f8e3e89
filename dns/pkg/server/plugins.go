package server

import (
	"navarch.dev/dns/pkg/plugin"
	"navarch.dev/dns/plugin/autopath"
	"navarch.dev/dns/plugin/bind"
	"navarch.dev/dns/plugin/cache"
	"navarch.dev/dns/plugin/errors"
	"navarch.dev/dns/plugin/forward"
	"navarch.dev/dns/plugin/health"
	"navarch.dev/dns/plugin/hosts"
	"navarch.dev/dns/plugin/kubernetes"
	"navarch.dev/dns/plugin/log"
	"navarch.dev/dns/plugin/loop"
	"navarch.dev/dns/plugin/metrics"
	"navarch.dev/dns/plugin/ready"
	"navarch.dev/dns/plugin/reload"
)

// Directives is the chain order, like CoreDNS's plugin.cfg: whatever order
// a Corefile lists its directives in, a query passes through the plugins in
// this order. Setup-only directives (bind, reload, health, ready) add no
// handler. This list is also the set of known directives.
var Directives = []struct {
	Name  string
	Setup plugin.SetupFunc
}{
	{"bind", bind.Setup},
	{"reload", reload.Setup},
	{"ready", ready.Setup},
	{"health", health.Setup},
	{"prometheus", metrics.Setup},
	{"errors", errors.Setup},
	{"log", log.Setup},
	{"cache", cache.Setup},
	{"autopath", autopath.Setup},
	{"hosts", hosts.Setup},
	{"kubernetes", kubernetes.Setup},
	{"loop", loop.Setup},
	{"forward", forward.Setup},
}
