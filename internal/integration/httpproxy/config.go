// Package httpproxy implements the `http` integration (digest §3.3): a
// configured httputil.ReverseProxy whose target URL, headers and query are
// compiled templates, with the connect and read timeouts of the spec and a
// pooled upstream transport shared across reloads.
package httpproxy

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

type config struct {
	Type                     string    `yaml:"type"`
	URL                      string    `yaml:"url"`
	Method                   string    `yaml:"method"`
	HTTPMethod               string    `yaml:"http_method"` // alias seen in a tutorial
	Headers                  yaml.Node `yaml:"headers"`
	Query                    yaml.Node `yaml:"query"`
	Timeouts                 *timeouts `yaml:"timeouts"`
	OmitEmptyHeaders         bool      `yaml:"omitEmptyHeaders"`
	OmitEmptyQueryParameters bool      `yaml:"omitEmptyQueryParameters"`
	ServiceAccountID         string    `yaml:"service_account_id"`
}

type timeouts struct {
	Connect *float64 `yaml:"connect"`
	Read    *float64 `yaml:"read"`
}

// Defaults where the documentation is silent (digest §10.4).
const (
	defaultConnect = 10 * time.Second
)

// entry is one compiled header or query map entry.
type entry struct {
	name   string
	values []params.Template
	null   bool
}

// urlTemplate is the target URL split where substituted values need
// different escaping.
type urlTemplate struct {
	static   *url.URL // the whole URL when it has no placeholder
	scheme   string
	host     params.Template
	path     params.Template
	rawQuery params.Template
}

func parseURL(raw string, d *params.Declared) (urlTemplate, error) {
	var u urlTemplate
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return u, fmt.Errorf("url %q needs a scheme (http:// or https://)", raw)
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		u.scheme = strings.ToLower(scheme)
	default:
		return u, fmt.Errorf("url scheme %q is not supported: use http or https", scheme)
	}
	rest, _, _ = strings.Cut(rest, "#")
	hostEnd := strings.IndexAny(rest, "/?")
	if hostEnd < 0 {
		hostEnd = len(rest)
	}
	host, pathQuery := rest[:hostEnd], rest[hostEnd:]
	if host == "" {
		return u, fmt.Errorf("url %q has no host", raw)
	}
	path, query, _ := strings.Cut(pathQuery, "?")
	if path == "" {
		path = "/"
	}
	u.host = params.Compile(host, d)
	u.path = params.Compile(path, d)
	u.rawQuery = params.Compile(query, d)
	if u.host.Static() {
		if _, err := url.Parse(u.scheme + "://" + host + "/"); err != nil {
			return u, fmt.Errorf("url %q: %v", raw, err)
		}
	}
	if u.host.Static() && u.path.Static() && u.rawQuery.Static() {
		parsed, err := url.Parse(u.scheme + "://" + host + path)
		if err != nil {
			return u, fmt.Errorf("url %q: %v", raw, err)
		}
		parsed.RawQuery = query
		u.static = parsed
	}
	return u, nil
}

func compileMap(n *yaml.Node, path string, d *params.Declared) (entries []entry, wildcard bool, errs yamlx.List) {
	raw, errs := integration.DecodeHeaderMap(n, path)
	for _, e := range raw {
		if e.Name == "*" {
			if len(e.Values) != 1 || e.Values[0] != "*" {
				errs.Errorf(e.Node, yamlx.Join(path, "*"), "the wildcard entry must be '*': '*' (forward everything not named)")
				continue
			}
			wildcard = true
			continue
		}
		ce := entry{name: e.Name, null: e.Null}
		for _, v := range e.Values {
			ce.values = append(ce.values, params.Compile(v, d))
		}
		entries = append(entries, ce)
	}
	return entries, wildcard, errs
}

var methods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodConnect: false, http.MethodOptions: true,
	http.MethodTrace: true,
}
