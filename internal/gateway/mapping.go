package gateway

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/policy/schemamap"
	"github.com/apigw/apigw/internal/spec"
	"github.com/apigw/apigw/internal/yamlx"
)

// bodyMap is the schema mappings of one body, by media type.
type bodyMap map[string]*schemamap.Template

// mappings is an operation's response schema mappings, by status.
type mappings map[int]bodyMap

// match finds the template for a Content-Type: its media type exactly,
// then type/*, then */*.
func (m bodyMap) match(contentType string) *schemamap.Template {
	if m == nil {
		return nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	if t := m[mt]; t != nil {
		return t
	}
	if i := strings.IndexByte(mt, '/'); i > 0 {
		if t := m[mt[:i]+"/*"]; t != nil {
			return t
		}
	}
	return m["*/*"]
}

func (m mappings) forResponse(code int, contentType string) *schemamap.Template {
	return m[code].match(contentType)
}

// compileMappings compiles an operation's x-yc-schema-mapping objects.
func compileMappings(op *spec.Operation, errs *yamlx.List) (bodyMap, mappings) {
	body := func(src map[string]spec.Mapping) bodyMap {
		var out bodyMap
		for mt, m := range src {
			tpl, e := schemamap.Compile(m.Node, m.Path)
			errs.Add(e...)
			if tpl != nil {
				if out == nil {
					out = bodyMap{}
				}
				out[strings.ToLower(mt)] = tpl
			}
		}
		return out
	}
	req := body(op.RequestMapping)
	var resp mappings
	for code, src := range op.ResponseMapping {
		if b := body(src); b != nil {
			if resp == nil {
				resp = mappings{}
			}
			resp[code] = b
		}
	}
	return req, resp
}

// mapRequest rewrites a JSON request body through the operation's
// request mapping, when its media type has one.
func mapRequest(r *http.Request, m bodyMap) error {
	tpl := m.match(r.Header.Get("Content-Type"))
	if tpl == nil {
		return nil
	}
	body, err := integration.ReadBody(r)
	if err != nil {
		return err
	}
	out, err := tpl.Apply(body)
	if err != nil {
		return httperr.Wrap(http.StatusBadRequest, "the request body cannot be mapped by x-yc-schema-mapping: "+err.Error(), err)
	}
	r.Body = io.NopCloser(bytes.NewReader(out))
	r.ContentLength = int64(len(out))
	r.Header.Set("Content-Length", strconv.Itoa(len(out)))
	r.Header.Set("Content-Type", "application/json")
	return nil
}
