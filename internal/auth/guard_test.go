package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
)

// fixed is a checker with a fixed outcome.
type fixed struct {
	status int // 0: pass
	ctx    map[string]any
}

func (f fixed) check(*http.Request, *integration.Call, []string) (map[string]any, *failure) {
	if f.status == 0 {
		return f.ctx, nil
	}
	return nil, &failure{status: f.status, message: http.StatusText(f.status), challenge: "Basic"}
}

func TestGuardCombinations(t *testing.T) {
	pass := fixed{ctx: map[string]any{"a": 1}}
	pass2 := fixed{ctx: map[string]any{"b": 2}}
	u401, u403, u500 := fixed{status: 401}, fixed{status: 403}, fixed{status: 500}
	alt := func(cs ...checker) []use {
		var out []use
		for _, c := range cs {
			out = append(out, use{scheme: c})
		}
		return out
	}
	tests := []struct {
		desc   string
		alts   [][]use
		status int // 0: allowed
		ctx    map[string]any
	}{
		{"one scheme passes", [][]use{alt(pass)}, 0, map[string]any{"a": 1}},
		{"one scheme fails", [][]use{alt(u401)}, 401, nil},
		{"AND: both pass, contexts merged", [][]use{alt(pass, pass2)}, 0, map[string]any{"a": 1, "b": 2}},
		{"AND: one fails", [][]use{alt(pass, u403)}, 403, nil},
		{"OR: the second alternative passes", [][]use{alt(u401), alt(pass2)}, 0, map[string]any{"b": 2}},
		{"OR: all fail, 403 beats 401", [][]use{alt(u401), alt(u403)}, 403, nil},
		{"OR: all fail, 500 beats 403", [][]use{alt(u403), alt(u500), alt(u401)}, 500, nil},
		{"a pass without context gives nil", [][]use{alt(fixed{})}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			g := &Guard{alternatives: tt.alts}
			w := httptest.NewRecorder()
			ctx, err := g.Authorize(w, httptest.NewRequest("GET", "/", nil), &integration.Call{})
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				if len(ctx) != len(tt.ctx) {
					t.Fatalf("context %v, want %v", ctx, tt.ctx)
				}
				for k, v := range tt.ctx {
					if ctx[k] != v {
						t.Fatalf("context %v, want %v", ctx, tt.ctx)
					}
				}
				return
			}
			he, ok := err.(*httperr.Error)
			if !ok || he.Status != tt.status {
				t.Fatalf("got %v, want status %d", err, tt.status)
			}
			if (tt.status == 401) != (w.Header().Get("WWW-Authenticate") != "") {
				t.Errorf("WWW-Authenticate = %q for %d", w.Header().Get("WWW-Authenticate"), tt.status)
			}
		})
	}
}
