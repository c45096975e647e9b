// Package swagger is the swagger integration (digest §3.10): Swagger UI for
// the gateway's own specification. The page is served at the operation's
// path; its assets and the specification are the same URL with ?asset=...,
// so that no route beyond the spec's own is needed. The UI ships inside
// the binary (scripts/vendor-swagger-ui), and the specification it shows
// is the effective one (variables substituted) without any x-yc-*
// extension: integrations, authorizers, backends, function and service
// account IDs stay private.
package swagger

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"html"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

//go:embed ui
var ui embed.FS

// asset is a file of the UI, compressed once on first use.
type asset struct {
	name, contentType string
	once              sync.Once
	raw, gz           []byte
}

var assets = map[string]*asset{
	"swagger-ui-bundle.js": {name: "swagger-ui-bundle.js", contentType: "text/javascript; charset=utf-8"},
	"swagger-ui.css":       {name: "swagger-ui.css", contentType: "text/css; charset=utf-8"},
	"favicon-32x32.png":    {name: "favicon-32x32.png", contentType: "image/png"},
}

// version is the vendored Swagger UI's version: the assets' ETag.
var version = func() string {
	v, _ := ui.ReadFile("ui/VERSION")
	return strings.TrimSpace(string(v))
}()

func (a *asset) load() {
	a.once.Do(func() {
		a.raw, _ = ui.ReadFile("ui/" + a.name)
		if strings.HasPrefix(a.contentType, "text/") {
			var b bytes.Buffer
			z, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			z.Write(a.raw)
			z.Close()
			a.gz = b.Bytes()
		}
	})
}

// Integration serves the UI of one spec.
type Integration struct {
	page []byte
	spec []byte
}

var _ integration.IgnoresBody = (*Integration)(nil)

// IgnoresBody: the page and the spec are static.
func (*Integration) IgnoresBody() {}

// New builds the page and the public specification.
func New(b *integration.Build, n *yaml.Node, p string) (integration.Handler, yamlx.List) {
	var s struct {
		Type string `yaml:"type"`
	}
	errs := yamlx.DecodeExtension(n, &s, p)
	if errs.Err() != nil {
		return nil, errs
	}
	var spec bytes.Buffer
	writeJSON(&spec, b.Doc.Root, true)
	title := "API"
	if t := yamlx.Get(yamlx.Get(b.Doc.Root, "info"), "title"); t != nil && t.Value != "" {
		title = t.Value
	}
	page := `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>` + html.EscapeString(title) + ` · API documentation</title>
<link rel="stylesheet" href="?asset=swagger-ui.css"><link rel="icon" type="image/png" href="?asset=favicon-32x32.png">
</head><body><div id="swagger-ui"></div>
<script src="?asset=swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: location.pathname + "?asset=openapi.json", dom_id: "#swagger-ui", deepLinking: true});</script>
</body></html>
`
	return &Integration{page: []byte(page), spec: spec.Bytes()}, errs
}

// Serve answers the page, an asset or the specification.
func (it *Integration) Serve(w http.ResponseWriter, r *http.Request, _ *integration.Call) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return httperr.New(http.StatusMethodNotAllowed, "Swagger UI answers GET and HEAD")
	}
	h := w.Header()
	name := r.URL.Query().Get("asset")
	switch name {
	case "":
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		return write(w, r, it.page)
	case "openapi.json":
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-cache")
		return write(w, r, it.spec)
	}
	a := assets[name]
	if a == nil {
		return httperr.New(http.StatusNotFound, "no Swagger UI asset "+strconv.Quote(name))
	}
	a.load()
	etag := `"` + version + `-` + name + `"`
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("Content-Type", a.contentType)
	h.Add("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	body := a.raw
	if a.gz != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	return write(w, r, body)
}

func write(w http.ResponseWriter, r *http.Request, body []byte) error {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return nil
}

// writeJSON writes a YAML node as JSON, keeping the key order, leaving out
// every x-yc-* key, and (at the top) pointing servers at the gateway
// itself, so that "Try it out" calls it.
func writeJSON(b *bytes.Buffer, n *yaml.Node, top bool) {
	n = yamlx.Deref(n)
	switch {
	case n == nil:
		b.WriteString("null")
	case n.Kind == yaml.MappingNode:
		b.WriteByte('{')
		first := true
		comma := func() {
			if !first {
				b.WriteByte(',')
			}
			first = false
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if strings.HasPrefix(k, "x-yc-") || top && k == "servers" {
				continue
			}
			comma()
			key, _ := json.Marshal(k)
			b.Write(key)
			b.WriteByte(':')
			writeJSON(b, n.Content[i+1], false)
		}
		if top {
			comma()
			b.WriteString(`"servers":[{"url":"/","description":"this gateway"}]`)
		}
		b.WriteByte('}')
	case n.Kind == yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, c, false)
		}
		b.WriteByte(']')
	default:
		var v any
		if err := n.Decode(&v); err != nil {
			v = n.Value
		}
		switch v.(type) {
		case string, bool, int, int64, uint64, float64, nil:
		default:
			v = n.Value // timestamps and other YAML types: their text
		}
		raw, err := json.Marshal(v)
		if err != nil { // NaN, Inf
			raw, _ = json.Marshal(n.Value)
		}
		b.Write(raw)
	}
}
