// Package plugintest has helpers for plugin tests.
package plugintest

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"navarch.dev/dns/pkg/plugin"
)

// Host is a plugin.Host for setup tests: a fresh registry and mux each call.
type Host struct{}

func (Host) Handle(string, string, http.Handler) {}
func (Host) Registry() *prometheus.Registry      { return prometheus.NewRegistry() }
func (Host) RESTConfig(string) (*rest.Config, error) {
	return &rest.Config{Host: "https://127.0.0.1:1"}, nil
}
func (Host) Handlers() []plugin.Handler { return nil }
func (Host) Fatal(error)                {}
func (Host) SetReload(time.Duration)    {}
