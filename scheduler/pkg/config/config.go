// Package config is the scheduler's configuration file (--config): a
// subset of upstream's KubeSchedulerConfiguration
// (kubescheduler.config.k8s.io/v1) with the same field names, so an
// upstream file that sets profiles, plugins, weights, parallelism and
// percentageOfNodesToScore works unchanged.
package config

import (
	"encoding/json"
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// DefaultSchedulerName is the schedulerName pods get by default.
const DefaultSchedulerName = "default-scheduler"

// Configuration is the file's top level.
type Configuration struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	// Parallelism is the number of workers filtering and scoring nodes.
	Parallelism int32 `json:"parallelism,omitempty"`
	// PercentageOfNodesToScore: 0 means upstream's adaptive rule.
	PercentageOfNodesToScore *int32           `json:"percentageOfNodesToScore,omitempty"`
	PodInitialBackoffSeconds int64            `json:"podInitialBackoffSeconds,omitempty"`
	PodMaxBackoffSeconds     int64            `json:"podMaxBackoffSeconds,omitempty"`
	ClientConnection         ClientConnection `json:"clientConnection,omitempty"`
	Profiles                 []Profile        `json:"profiles,omitempty"`
}

// ClientConnection configures the API client.
type ClientConnection struct {
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// ContentType of requests; upstream's default is protobuf.
	ContentType string  `json:"contentType,omitempty"`
	QPS         float32 `json:"qps,omitempty"`
	Burst       int32   `json:"burst,omitempty"`
}

// Profile is one scheduler name with its plugins.
type Profile struct {
	SchedulerName            string         `json:"schedulerName,omitempty"`
	PercentageOfNodesToScore *int32         `json:"percentageOfNodesToScore,omitempty"`
	Plugins                  *Plugins       `json:"plugins,omitempty"`
	PluginConfig             []PluginConfig `json:"pluginConfig,omitempty"`
}

// Plugins lists enabled and disabled plugins per extension point;
// MultiPoint applies to every point a plugin implements.
type Plugins struct {
	MultiPoint PluginSet `json:"multiPoint,omitempty"`
	QueueSort  PluginSet `json:"queueSort,omitempty"`
	PreFilter  PluginSet `json:"preFilter,omitempty"`
	Filter     PluginSet `json:"filter,omitempty"`
	PostFilter PluginSet `json:"postFilter,omitempty"`
	PreScore   PluginSet `json:"preScore,omitempty"`
	Score      PluginSet `json:"score,omitempty"`
	Reserve    PluginSet `json:"reserve,omitempty"`
	PreBind    PluginSet `json:"preBind,omitempty"`
	Bind       PluginSet `json:"bind,omitempty"`
}

// PluginSet adds and removes plugins; Disabled may name "*" for all.
type PluginSet struct {
	Enabled  []Plugin `json:"enabled,omitempty"`
	Disabled []Plugin `json:"disabled,omitempty"`
}

// Plugin names a plugin; Weight matters for Score only (0 = default).
type Plugin struct {
	Name   string `json:"name"`
	Weight int32  `json:"weight,omitempty"`
}

// PluginConfig carries one plugin's arguments.
type PluginConfig struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Default returns the configuration used without --config.
func Default() *Configuration {
	c := &Configuration{}
	c.SetDefaults()
	return c
}

// SetDefaults fills what the file left out with upstream's defaults.
func (c *Configuration) SetDefaults() {
	if c.Parallelism == 0 {
		c.Parallelism = 16
	}
	if c.PercentageOfNodesToScore == nil {
		zero := int32(0)
		c.PercentageOfNodesToScore = &zero
	}
	if c.PodInitialBackoffSeconds == 0 {
		c.PodInitialBackoffSeconds = 1
	}
	if c.PodMaxBackoffSeconds == 0 {
		c.PodMaxBackoffSeconds = 10
	}
	if c.ClientConnection.ContentType == "" {
		c.ClientConnection.ContentType = "application/vnd.kubernetes.protobuf"
	}
	if c.ClientConnection.QPS == 0 {
		c.ClientConnection.QPS = 50
	}
	if c.ClientConnection.Burst == 0 {
		c.ClientConnection.Burst = 100
	}
	if len(c.Profiles) == 0 {
		c.Profiles = []Profile{{}}
	}
	for i := range c.Profiles {
		if c.Profiles[i].SchedulerName == "" {
			c.Profiles[i].SchedulerName = DefaultSchedulerName
		}
	}
}

// Validate reports settings the scheduler cannot run with.
func (c *Configuration) Validate() error {
	if c.Parallelism <= 0 {
		return fmt.Errorf("config: parallelism must be positive, got %d", c.Parallelism)
	}
	if p := c.PercentageOfNodesToScore; p != nil && (*p < 0 || *p > 100) {
		return fmt.Errorf("config: percentageOfNodesToScore must be in [0, 100], got %d", *p)
	}
	if c.PodInitialBackoffSeconds <= 0 || c.PodMaxBackoffSeconds < c.PodInitialBackoffSeconds {
		return fmt.Errorf("config: need 0 < podInitialBackoffSeconds (%d) <= podMaxBackoffSeconds (%d)", c.PodInitialBackoffSeconds, c.PodMaxBackoffSeconds)
	}
	seen := map[string]bool{}
	for _, p := range c.Profiles {
		if seen[p.SchedulerName] {
			return fmt.Errorf("config: duplicate profile for schedulerName %q", p.SchedulerName)
		}
		seen[p.SchedulerName] = true
		if p := p.PercentageOfNodesToScore; p != nil && (*p < 0 || *p > 100) {
			return fmt.Errorf("config: percentageOfNodesToScore must be in [0, 100], got %d", *p)
		}
	}
	return nil
}

// Load reads a YAML or JSON file, applies defaults and validates.
func Load(path string) (*Configuration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data)
}

// Parse decodes YAML or JSON strictly, applies defaults and validates.
func Parse(data []byte) (*Configuration, error) {
	c := &Configuration{}
	if err := yaml.UnmarshalStrict(data, c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
