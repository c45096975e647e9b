package objectstorage

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/apigw/apigw/internal/awsconf"
	"github.com/apigw/apigw/internal/config"
)

// s3Bucket serves objects from an S3-compatible endpoint.
type s3Bucket struct {
	client *s3.Client
	name   string
}

func newS3Bucket(b *config.Bucket, specName string, rt http.RoundTripper) *s3Bucket {
	cfg := awsconf.Config(b.Region, b.AccessKeyID, b.SecretAccessKey, rt) // anonymous: a public bucket
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(b.Endpoint)
		o.UsePathStyle = !b.VirtualHosted
		// Newer SDKs add checksums that S3-compatible servers reject.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	name := b.Name
	if name == "" {
		name = specName
	}
	return &s3Bucket{client: client, name: name}
}

// copyBuffers are the 256 KiB buffers objects are copied through: large
// objects in few system calls.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// errUpstream is a bucket that could not be read (502).
type errUpstream struct{ err error }

func (e *errUpstream) Error() string { return "object storage: " + e.err.Error() }
func (e *errUpstream) Unwrap() error { return e.err }

// serveS3 streams an object, passing Range and the conditional headers to
// the server and its answer (200, 206, 304) to the client. It returns
// errNoObject for a missing (or, as S3 answers without list permission,
// forbidden) key, before writing anything.
func (b *s3Bucket) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, key string, status int) error {
	if key == "" {
		return errNoObject
	}
	in := &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)}
	if status == http.StatusOK {
		if v := r.Header.Get("Range"); v != "" {
			in.Range = aws.String(v)
		}
		if v := r.Header.Get("If-None-Match"); v != "" {
			in.IfNoneMatch = aws.String(v)
		}
		if v := r.Header.Get("If-Modified-Since"); v != "" {
			if t, err := http.ParseTime(v); err == nil {
				in.IfModifiedSince = aws.Time(t)
			}
		}
	}
	if r.Method == http.MethodHead {
		return b.head(ctx, w, in, status)
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		return b.mapErr(w, err)
	}
	defer out.Body.Close()
	h := w.Header()
	setMeta(h, out.ContentType, out.ContentLength, out.ETag, out.LastModified)
	if out.ContentRange != nil {
		h.Set("Content-Range", *out.ContentRange)
		if status == http.StatusOK {
			status = http.StatusPartialContent
		}
	}
	h.Set("Accept-Ranges", "bytes")
	w.WriteHeader(status)
	bufp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bufp)
	if _, err := io.CopyBuffer(struct{ io.Writer }{w}, out.Body, *bufp); err != nil && ctx.Err() == nil {
		panic(http.ErrAbortHandler) // the bucket broke mid-object: no complete-looking answer
	}
	return nil
}

func (b *s3Bucket) head(ctx context.Context, w http.ResponseWriter, in *s3.GetObjectInput, status int) error {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: in.Bucket, Key: in.Key, IfNoneMatch: in.IfNoneMatch, IfModifiedSince: in.IfModifiedSince})
	if err != nil {
		return b.mapErr(w, err)
	}
	setMeta(w.Header(), out.ContentType, out.ContentLength, out.ETag, out.LastModified)
	w.WriteHeader(status)
	return nil
}

// mapErr turns an S3 error into errNoObject (fallbacks apply), a 304
// written here, or an upstream error.
func (b *s3Bucket) mapErr(w http.ResponseWriter, err error) error {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusNotModified:
			w.WriteHeader(http.StatusNotModified)
			return nil
		case http.StatusNotFound, http.StatusForbidden:
			return errNoObject
		case http.StatusRequestedRangeNotSatisfiable:
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return nil
		}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound") {
		return errNoObject
	}
	return &errUpstream{err}
}

func setMeta(h http.Header, ct *string, length *int64, etag *string, modified *time.Time) {
	if ct != nil {
		h.Set("Content-Type", *ct)
	}
	if length != nil {
		h.Set("Content-Length", strconv.FormatInt(*length, 10))
	}
	if etag != nil {
		h.Set("ETag", *etag)
	}
	if modified != nil {
		h.Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
	}
}
