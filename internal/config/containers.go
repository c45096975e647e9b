package config

import (
	"net/url"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Container binds a container_id (serverless_containers) to the base URL it
// answers on; the request's own path and query are appended.
type Container struct {
	URL string `yaml:"url"`
	// ConnectTimeout bounds the connection to the container (default 10s).
	ConnectTimeout *Duration `yaml:"connect_timeout"`
	// ReadTimeout bounds each wait for the container (default: the
	// execution timeout only).
	ReadTimeout *Duration `yaml:"read_timeout"`
	// Mock answers the container's operations from the spec's declared
	// responses; it takes no other key.
	Mock bool `yaml:"mock"`

	Node *yaml.Node `yaml:"-"`
}

// Endpoint binds a resource ID (a DataSphere node, ...) to a URL.
type Endpoint struct {
	URL string `yaml:"url"`

	Node *yaml.Node `yaml:"-"`
}

func checkURL(n *yaml.Node, path, key, raw string, errs *yamlx.List) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		at := yamlx.Get(n, key)
		if at == nil {
			at = n
		}
		errs.Errorf(at, yamlx.Join(path, key), "needs an http:// or https:// URL, got %q", raw)
	}
}

func checkContainers(root *yaml.Node, cs map[string]*Container, errs *yamlx.List) {
	section := yamlx.Get(root, "containers")
	for id, c := range cs {
		n := yamlx.Get(section, id)
		if c == nil {
			errs.Errorf(n, yamlx.Join("containers", id), "needs url")
			continue
		}
		c.Node = n
		checkURL(n, yamlx.Join("containers", id), "url", c.URL, errs)
	}
}

func checkEndpoints(root *yaml.Node, name string, es map[string]*Endpoint, errs *yamlx.List) {
	section := yamlx.Get(root, name)
	for id, e := range es {
		n := yamlx.Get(section, id)
		if e == nil {
			errs.Errorf(n, yamlx.Join(name, id), "needs url")
			continue
		}
		e.Node = n
		checkURL(n, yamlx.Join(name, id), "url", e.URL, errs)
	}
}
