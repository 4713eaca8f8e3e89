package plugin

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
)

// Directive is one line of a server block (name and arguments) with its
// optional { … } block of sub-directives.
type Directive struct {
	Name  string
	Args  []string
	Block []Directive
	File  string
	Line  int
}

// Errorf formats an error that points at the directive's file and line.
func (d Directive) Errorf(format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", d.File, d.Line, d.Name, fmt.Sprintf(format, args...))
}

// ArgN checks the directive has between min and max arguments (max < 0: no
// upper bound).
func (d Directive) ArgN(min, max int) error {
	if len(d.Args) < min || (max >= 0 && len(d.Args) > max) {
		return d.Errorf("wrong argument count %d", len(d.Args))
	}
	return nil
}

// Duration parses s as a Go duration or, bare, seconds.
func Duration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// SetupFunc builds the plugin of one directive into c: it parses d, calls
// c.AddPlugin for a chain plugin, and registers hooks and HTTP handlers.
type SetupFunc func(c *Config, d Directive) error

// Host is what a server instance offers all its server blocks: shared HTTP
// servers, the metrics registry, the API client configuration and a way to
// stop on a fatal error. One Host lives from one (re)load to the next.
type Host interface {
	// Handle serves h at pattern on addr (an HTTP server per address).
	// When several blocks register the same pattern on one address, the
	// first wins.
	Handle(addr, pattern string, h http.Handler)
	// Registry is where plugins register their metrics.
	Registry() *prometheus.Registry
	// RESTConfig is the API client configuration for path ("" for the
	// process default from --kubeconfig).
	RESTConfig(path string) (*rest.Config, error)
	// Handlers lists every chain handler of every server block, once all
	// are built (call it from a startup hook).
	Handlers() []Handler
	// Fatal stops the server with err (the loop plugin uses it).
	Fatal(err error)
	// SetReload asks the server to poll its Corefile every interval and
	// restart with the new configuration when it changes.
	SetReload(interval time.Duration)
}

// Config is one server block being built: its zones and listen address,
// the plugins its directives added, and its start and stop hooks.
type Config struct {
	// Zones are the block's zones; Port its port; ListenHosts the
	// addresses it binds (empty: all).
	Zones       Zones
	Port        string
	ListenHosts []string
	Host        Host

	plugins  []namedPlugin
	handlers []Handler
	startup  []func() error
	shutdown []func() error
	current  string
}

type namedPlugin struct {
	name string
	p    Plugin
}

// BeginDirective is called by the server before each SetupFunc, so that
// AddPlugin knows which directive a plugin belongs to.
func (c *Config) BeginDirective(name string) { c.current = name }

// AddPlugin appends p to the chain; chain order is the order of the
// directive list, not of the Corefile.
func (c *Config) AddPlugin(p Plugin) { c.plugins = append(c.plugins, namedPlugin{c.current, p}) }

// OnStartup runs f once the chain is built, before listening; an error
// aborts the start.
func (c *Config) OnStartup(f func() error) { c.startup = append(c.startup, f) }

// OnShutdown runs f when the server stops (or reloads).
func (c *Config) OnShutdown(f func() error) { c.shutdown = append(c.shutdown, f) }

// Build links the plugins into a chain and returns its first handler (nil
// if the block has no chain plugins).
func (c *Config) Build() Handler {
	var h Handler
	c.handlers = make([]Handler, len(c.plugins))
	for i := len(c.plugins) - 1; i >= 0; i-- {
		h = c.plugins[i].p(h)
		c.handlers[i] = h
	}
	return h
}

// Handlers returns the built chain, first to last.
func (c *Config) Handlers() []Handler { return c.handlers }

// Handler returns the chain handler called name, or nil.
func (c *Config) Handler(name string) Handler {
	for _, h := range c.handlers {
		if h.Name() == name {
			return h
		}
	}
	return nil
}

// Startup runs the startup hooks in order.
func (c *Config) Startup() error {
	for _, f := range c.startup {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// Shutdown runs the shutdown hooks and returns the first error.
func (c *Config) Shutdown() error {
	var first error
	for _, f := range c.shutdown {
		if err := f(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Register registers collectors with reg, tolerating ones already there
// (plugin metrics are package-level and outlive reloads).
func Register(reg *prometheus.Registry, cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			if _, ok := err.(prometheus.AlreadyRegisteredError); !ok {
				panic(err)
			}
		}
	}
}
