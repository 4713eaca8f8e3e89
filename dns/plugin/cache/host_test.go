package cache

import (
	"navarch.dev/dns/pkg/plugin"
	"navarch.dev/dns/pkg/plugin/plugintest"
)

type fakeHost = plugintest.Host

var _ plugin.Host = fakeHost{}
