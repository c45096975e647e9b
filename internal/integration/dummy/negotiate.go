package dummy

import (
	"strconv"
	"strings"
)

type mediaRange struct {
	typ, sub string
	q        float64
}

func parseMediaRange(s string) (mediaRange, bool) {
	s = strings.TrimSpace(s)
	mt, rest, _ := strings.Cut(s, ";")
	typ, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(mt)), "/")
	if !ok || typ == "" || sub == "" {
		return mediaRange{}, false
	}
	m := mediaRange{typ: typ, sub: sub, q: 1}
	for _, p := range strings.Split(rest, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			if q, err := strconv.ParseFloat(v, 64); err == nil && q >= 0 && q <= 1 {
				m.q = q
			}
		}
	}
	return m, true
}

// choose picks the body variant for the Accept header values (RFC 9110
// §12.5.1): the variant with the highest quality, the most specific range
// deciding a tie of quality for the same variant, document order deciding
// between variants. Without a match the '*' key serves; without Accept the
// '*' key, else the first variant (deterministic where the cloud says
// "arbitrary"). nil means 415.
func (d *Integration) choose(accept []string) *variant {
	if len(accept) == 0 {
		if d.fallback != nil {
			return d.fallback
		}
		return &d.variants[0]
	}
	var ranges []mediaRange
	for _, a := range accept {
		for _, part := range strings.Split(a, ",") {
			if m, ok := parseMediaRange(part); ok {
				ranges = append(ranges, m)
			}
		}
	}
	var best *variant
	bestQ := 0.0
	for i := range d.variants {
		v := &d.variants[i]
		q, spec := 0.0, -1
		for _, m := range ranges {
			s := -1
			switch {
			case m.typ == v.typ && m.sub == v.sub:
				s = 2
			case m.typ == v.typ && m.sub == "*":
				s = 1
			case m.typ == "*" && m.sub == "*":
				s = 0
			}
			if s > spec {
				spec, q = s, m.q
			}
		}
		if spec >= 0 && q > bestQ {
			best, bestQ = v, q
		}
	}
	if best != nil {
		return best
	}
	return d.fallback
}
