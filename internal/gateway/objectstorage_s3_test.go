package gateway

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// TestObjectStorageS3 serves a bucket from an S3-compatible server
// (gofakes3, in process) through the AWS SDK client the integration uses;
// what the client gets is what was stored.
func TestObjectStorageS3(t *testing.T) {
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer fake.Close()
	ctx := context.Background()
	client := s3.NewFromConfig(aws.Config{Region: "ru-central1", Credentials: credentials.NewStaticCredentialsProvider("ak", "sk", "")}, func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(fake.URL), true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("real-site")}); err != nil {
		t.Fatal(err)
	}
	put := func(key, ct, body string) {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("real-site"), Key: aws.String(key), ContentType: aws.String(ct), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	app := strings.Repeat("0123456789", 1000)
	put("js/app.js", "text/javascript", app)
	put("404.html", "text/html", "<h1>missing</h1>")

	src := `openapi: 3.0.0
paths:
  /static/{file+}:
    x-yc-apigateway-any-method:
      parameters: [{name: file, in: path, required: true, schema: {type: string}}]
      x-yc-apigateway-integration:
        type: object_storage
        bucket: site
        object: '{file}'
        error_object: {object: 404.html, statusCode: 404}
`
	srv := serve(t, src, "object_storage:\n  buckets:\n    site: {endpoint: '"+fake.URL+"', name: real-site, access_key_id: ak, secret_access_key: sk}\n")
	res := do(t, "GET", srv.URL+"/static/js/app.js", nil, nil)
	if res.status != 200 || res.body != app || res.header.Get("Content-Type") != "text/javascript" || res.header.Get("ETag") == "" || res.header.Get("Last-Modified") == "" {
		t.Fatalf("object: %d %d bytes %v", res.status, len(res.body), res.header)
	}
	if r := do(t, "GET", srv.URL+"/static/js/app.js", map[string]string{"If-None-Match": res.header.Get("ETag")}, nil); r.status != 304 || r.body != "" {
		t.Errorf("If-None-Match: %d %q", r.status, r.body)
	}
	if r := do(t, "GET", srv.URL+"/static/js/app.js", map[string]string{"Range": "bytes=10-19"}, nil); r.status != 206 || r.body != "0123456789" || r.header.Get("Content-Range") == "" {
		t.Errorf("Range: %d %q %v", r.status, r.body, r.header)
	}
	if r := do(t, "HEAD", srv.URL+"/static/js/app.js", nil, nil); r.status != 200 || r.body != "" || r.header.Get("Content-Length") != "10000" {
		t.Errorf("HEAD: %d %v", r.status, r.header)
	}
	if r := do(t, "GET", srv.URL+"/static/none.js", nil, nil); r.status != 404 || r.body != "<h1>missing</h1>" {
		t.Errorf("error_object from the bucket: %d %q", r.status, r.body)
	}
	// A key with .. is just a key in S3: it names no stored object.
	if r := do(t, "GET", srv.URL+"/static/..%2F404.html", nil, nil); !bytes.Contains([]byte(r.body), []byte("missing")) || r.status != 404 {
		t.Errorf("dot-dot key: %d %q", r.status, r.body)
	}
	fake.Close()
	if r := do(t, "GET", srv.URL+"/static/js/app.js", nil, nil); r.status != 502 || !strings.Contains(r.body, "object storage is unavailable") {
		t.Errorf("endpoint down: %d %s", r.status, r.body)
	}
}
