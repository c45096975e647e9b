package mock

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/apigw/apigw/internal/httperr"
)

// Prefer is what a request asks of a mock in its Prefer headers (RFC
// 7240), as Prism reads them: `Prefer: code=404, example=missing`,
// `Prefer: dynamic=true`, and for mocked authorizers `auth=deny`.
type Prefer struct {
	Code    string
	Example string
	Dynamic bool
	Deny    bool
}

// ParsePrefer reads every Prefer header; unknown preferences are ignored,
// as RFC 7240 asks.
func ParsePrefer(values []string) Prefer {
	var p Prefer
	for _, v := range values {
		for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
			k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			val = strings.Trim(strings.TrimSpace(val), `"`)
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "code":
				p.Code = val
			case "example":
				p.Example = val
			case "dynamic":
				p.Dynamic = val == "true"
			case "auth":
				p.Deny = val == "deny"
			}
		}
	}
	return p
}

// negotiate picks the media type the Accept headers like best; ties go
// to the declared order (JSON first). No acceptable one is a 406.
func (r *response) negotiate(accept []string) (*media, error) {
	ranges := parseAccept(accept)
	if len(ranges) == 0 {
		return &r.media[0], nil
	}
	best, bestQ, bestSpec := -1, 0.0, -1
	for i := range r.media {
		q, spec := quality(ranges, r.media[i].name)
		if q > bestQ || q == bestQ && q > 0 && spec > bestSpec {
			best, bestQ, bestSpec = i, q, spec
		}
	}
	if best < 0 {
		names := make([]string, len(r.media))
		for i, m := range r.media {
			names[i] = m.name
		}
		return nil, httperr.New(http.StatusNotAcceptable, fmt.Sprintf("none of the media types this response declares is acceptable (declared: %s)", strings.Join(names, ", ")))
	}
	return &r.media[best], nil
}

type acceptRange struct {
	typ, sub string
	q        float64
}

func parseAccept(values []string) []acceptRange {
	var out []acceptRange
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			fields := strings.Split(part, ";")
			mt := strings.ToLower(strings.TrimSpace(fields[0]))
			typ, sub, ok := strings.Cut(mt, "/")
			if !ok || typ == "" || sub == "" {
				continue
			}
			q := 1.0
			for _, f := range fields[1:] {
				if k, val, ok := strings.Cut(strings.TrimSpace(f), "="); ok && strings.EqualFold(k, "q") {
					if x, err := strconv.ParseFloat(val, 64); err == nil {
						q = x
					}
				}
			}
			out = append(out, acceptRange{typ, sub, q})
		}
	}
	return out
}

// quality is the q of the most specific range that covers a media type
// (0: none), and how specific that range is.
func quality(ranges []acceptRange, mediaType string) (float64, int) {
	mt, _, _ := strings.Cut(strings.ToLower(mediaType), ";")
	typ, sub, _ := strings.Cut(strings.TrimSpace(mt), "/")
	q, spec := 0.0, -1
	for _, a := range ranges {
		s := -1
		switch {
		case a.typ == typ && a.sub == sub:
			s = 2
		case a.typ == typ && a.sub == "*", typ == a.typ && sub == "*":
			s = 1
		case a.typ == "*" && a.sub == "*", typ == "*":
			s = 0
		}
		if s > spec {
			q, spec = a.q, s
		}
	}
	return q, spec
}
