package integration

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/httperr"
)

func TestReadBody(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		limit      int64
		wantStatus int // 0: no error
	}{
		{name: "within limit", body: "hello", limit: 10},
		{name: "over limit is 413", body: strings.Repeat("x", 11), limit: 10, wantStatus: http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, tt.limit)
			b, err := ReadBody(r)
			if tt.wantStatus == 0 {
				if err != nil || string(b) != tt.body {
					t.Fatalf("ReadBody = %q, %v", b, err)
				}
				return
			}
			var he *httperr.Error
			if !errors.As(err, &he) || he.Status != tt.wantStatus {
				t.Fatalf("err = %v, want status %d", err, tt.wantStatus)
			}
		})
	}
}
