package objectstorage

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestS3Endpoint(t *testing.T) {
	tests := []struct {
		base          string
		virtualHosted bool
		want, public  string
	}{
		{"http://127.0.0.1:9000", false, "http://127.0.0.1:9000/site", "http://127.0.0.1:9000/site/"},
		{"https://storage.yandexcloud.net/", false, "https://storage.yandexcloud.net/site", "https://storage.yandexcloud.net/site/"},
		{"https://storage.yandexcloud.net", true, "https://site.storage.yandexcloud.net", "https://site.storage.yandexcloud.net/"},
		{"http://minio:9000/prefix", false, "http://minio:9000/prefix/site", "http://minio:9000/prefix/site/"},
	}
	for _, tt := range tests {
		e, err := s3Endpoint{base: tt.base, virtualHosted: tt.virtualHosted}.ResolveEndpoint(context.Background(), s3.EndpointParameters{Bucket: aws.String("site")})
		if err != nil || e.URI.String() != tt.want {
			t.Errorf("%s (virtual hosted %v): endpoint %q (%v), want %q", tt.base, tt.virtualHosted, e.URI.String(), err, tt.want)
		}
		if u, err := publicBase(tt.base, "site", tt.virtualHosted); err != nil || u.String() != tt.public {
			t.Errorf("%s (virtual hosted %v): public base %v (%v), want %q", tt.base, tt.virtualHosted, u, err, tt.public)
		}
	}
}

func TestDotSegment(t *testing.T) {
	for key, want := range map[string]bool{
		"a.txt": false, "dir/.hidden": false, "a..b/c": false, "...": false,
		"..": true, ".": true, "../x": true, "x/../y": true, "x/./y": true, "x/..": true,
	} {
		if got := dotSegment(key); got != want {
			t.Errorf("dotSegment(%q) = %v, want %v", key, got, want)
		}
	}
}
