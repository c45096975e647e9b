package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw/apigw/internal/yc/yctest"
)

// s3rverBucket starts s3rver with one bucket holding objects, and returns
// the endpoint.
func s3rverBucket(t *testing.T, bucket string, objects map[string]string) string {
	t.Helper()
	endpoint := startS3rver(t)
	ctx := context.Background()
	client := s3.NewFromConfig(aws.Config{Region: "ru-central1", Credentials: credentials.NewStaticCredentialsProvider("S3RVER", "S3RVER", "")}, func(o *s3.Options) {
		o.BaseEndpoint, o.UsePathStyle = aws.String(endpoint), true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for key, b := range objects {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(b), ContentType: aws.String("text/plain")}); err != nil {
			t.Fatal(err)
		}
	}
	return endpoint
}

// noRedirect answers a GET without following redirects.
func noRedirect(t *testing.T, u string, header ...string) (int, http.Header, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// TestObjectStoragePresignedRedirect: presigned_redirect answers 302 to a
// URL that the S3 server itself serves the stored object at; default_object is redirected to, and
// error_object streamed with its status; presign_endpoint sets the URL's
// host.
func TestObjectStoragePresignedRedirect(t *testing.T) {
	endpoint := s3rverBucket(t, "site", map[string]string{"a.txt": "object a", "index.html": "<h1>app</h1>", "404.html": "<h1>gone</h1>"})
	public := strings.Replace(endpoint, "127.0.0.1", "localhost", 1)
	dir := t.TempDir()
	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /plain/{key+}:
    get:
      parameters: [{name: key, in: path, required: true}]
      x-yc-apigateway-integration: {type: object_storage, bucket: site, object: '{key}', presigned_redirect: true}
  /app/{key+}:
    get:
      parameters: [{name: key, in: path, required: true}]
      x-yc-apigateway-integration: {type: object_storage, bucket: site, object: '{key}', default_object: index.html, presigned_redirect: true}
  /err/{key+}:
    get:
      parameters: [{name: key, in: path, required: true}]
      x-yc-apigateway-integration: {type: object_storage, bucket: site, object: '{key}', error_object: 404.html, presigned_redirect: true}
  /pub/{key+}:
    get:
      parameters: [{name: key, in: path, required: true}]
      x-yc-apigateway-integration: {type: object_storage, bucket: public, object: '{key}', presigned_redirect: true}
`)
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf(`object_storage:
  buckets:
    site: {endpoint: '%s', access_key_id: S3RVER, secret_access_key: S3RVER, presign_expiry: 10m}
    public: {endpoint: '%s', name: site, presign_endpoint: '%s'}
`, endpoint, endpoint, public))
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	g := start(t, "--spec", spec, "--config", cfg)

	follow := func(path, wantBody, wantPrefix string) *url.URL {
		t.Helper()
		status, h, _ := noRedirect(t, g.URL+path)
		loc := h.Get("Location")
		if status != http.StatusFound || !strings.HasPrefix(loc, wantPrefix) || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d Location %q Cache-Control %q, want 302 to %s...", path, status, loc, h.Get("Cache-Control"), wantPrefix)
		}
		if status, _, got := get(t, loc); status != 200 || got != wantBody {
			t.Fatalf("%s: following %s: %d %q, want %q", path, loc, status, got, wantBody)
		}
		u, _ := url.Parse(loc)
		return u
	}
	u := follow("/plain/a.txt", "object a", endpoint+"/site/a.txt?")
	// s3rver checks a SigV4 URL's key ID but not the signature's value.
	if q := u.Query(); q.Get("X-Amz-Signature") == "" || q.Get("X-Amz-Expires") != "600" ||
		!strings.HasPrefix(q.Get("X-Amz-Credential"), "S3RVER/") || !strings.HasSuffix(q.Get("X-Amz-Credential"), "/ru-central1/s3/aws4_request") {
		t.Errorf("presigned URL query = %v, want a SigV4 signature by S3RVER for ru-central1, valid 600 s", q)
	}
	// Range goes to the server with the redirected request.
	if status, _, got := get(t, g.URL+"/plain/a.txt", "Range", "bytes=0-5"); status != 206 || got != "object" {
		t.Errorf("Range through the redirect: %d %q", status, got)
	}
	follow("/app/a.txt", "object a", endpoint+"/site/a.txt?")
	follow("/app/deep/route", "<h1>app</h1>", endpoint+"/site/index.html?")
	follow("/err/a.txt", "object a", endpoint+"/site/a.txt?")
	if status, _, got := noRedirect(t, g.URL+"/err/missing"); status != 404 || got != "<h1>gone</h1>" {
		t.Errorf("error_object under presigned_redirect: %d %q, want it streamed with 404", status, got)
	}
	// Anonymous (a public bucket): an unsigned URL on presign_endpoint.
	u = follow("/pub/a.txt", "object a", public+"/site/a.txt")
	if u.Query().Get("X-Amz-Signature") != "" {
		t.Errorf("anonymous bucket URL is signed: %s", u)
	}
	// A key with dot segments would lead a client out of the bucket.
	for _, path := range []string{"/pub/x/..%2F..%2Fother%2Fsecret", "/plain/..%2Fother%2Fsecret", "/pub/.%2Fa.txt"} {
		if status, h, _ := noRedirect(t, g.URL+path); status != 404 || h.Get("Location") != "" {
			t.Errorf("%s: %d Location %q, want 404", path, status, h.Get("Location"))
		}
	}
}

// TestServiceAccountKeyRealServers: buckets and queues bound with a service
// account key reach a real S3 and SQS server through a stand-in of Yandex
// Cloud's token check, which lets through only requests that carry an IAM
// token its IAM endpoint issued for the key's JWT (and no signature).
func TestServiceAccountKeyRealServers(t *testing.T) {
	cloud := yctest.New()
	t.Cleanup(cloud.Close)
	keyJSON, err := cloud.AddKey("ajekey1", "ajesa1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sa-key.json"), keyJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	s3Front := cloud.SubjectTokenFront(s3rverBucket(t, "site", map[string]string{"a.txt": "object a"}), "s3", "S3RVER", "S3RVER")
	t.Cleanup(s3Front.Close)

	sqsEndpoint := startSQS(t)
	ctx := context.Background()
	sqsClient := sqs.NewFromConfig(aws.Config{Region: "ru-central1", Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")},
		func(o *sqs.Options) { o.BaseEndpoint = aws.String(sqsEndpoint) })
	q, err := sqsClient.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	sqsFront := cloud.SubjectTokenFront(sqsEndpoint, "sqs", "k", "s")
	t.Cleanup(sqsFront.Close)

	spec := writeFile(t, dir, "api.yaml", `openapi: 3.0.0
paths:
  /s/{key+}:
    get:
      parameters: [{name: key, in: path, required: true}]
      x-yc-apigateway-integration: {type: object_storage, bucket: site, object: '{key}', presigned_redirect: true}
  /events:
    post:
      x-yc-apigateway-integration: {type: cloud_ymq, action: SendMessage, queue_url: 'https://message-queue.api.cloud.yandex.net/b1g/dj6/events', folder_id: b1g}
`)
	cfg := writeFile(t, dir, "apigw.yaml", fmt.Sprintf(`object_storage:
  buckets:
    site: {endpoint: '%s', service_account_key_file: sa-key.json, iam_endpoint: '%s'}
queues:
  default: {endpoint: '%s', url: '%s', service_account_key_file: sa-key.json, iam_endpoint: '%s'}
`, s3Front.URL, cloud.IAMEndpoint(), sqsFront.URL, aws.ToString(q.QueueUrl), cloud.IAMEndpoint()))
	g := start(t, "--spec", spec, "--config", cfg)
	if !g.waitLog("cannot presign", 2*time.Second) {
		t.Errorf("no warning that presigned_redirect falls back to streaming:\n%s", g.Logs())
	}
	if status, _, got := noRedirect(t, g.URL+"/s/a.txt"); status != 200 || got != "object a" {
		t.Fatalf("object through the token front: %d %q", status, got)
	}
	res, err := http.Post(g.URL+"/events", "application/json", strings.NewReader(`{"event":"signup"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("send through the token front: %d", res.StatusCode)
	}
	out, err := sqsClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 2})
	if err != nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != `{"event":"signup"}` {
		t.Fatalf("queue holds %v (%v), want the message sent", out, err)
	}
	exchanges, _ := cloud.Counts()
	if exchanges != 1 {
		t.Errorf("%d IAM exchanges, want 1 shared by the bucket and the queue", exchanges)
	}
}
