package objectstorage

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyendpoints "github.com/aws/smithy-go/endpoints"

	"github.com/apigw/apigw/internal/awsconf"
	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/yc"
)

// s3Bucket serves objects from an S3-compatible endpoint.
type s3Bucket struct {
	client  *s3.Client
	name    string
	presign *s3.PresignClient // static keys: presigned_redirect signs URLs
	// publicURL is an anonymous bucket's base URL, for which
	// presigned_redirect needs no signature.
	publicURL *url.URL
}

// canRedirect reports whether presigned_redirect can work: static keys
// sign, an anonymous bucket needs no signature; an IAM token cannot
// (a URL carries no header).
func (b *s3Bucket) canRedirect() bool { return b.presign != nil || b.publicURL != nil }

// s3Endpoint resolves requests to the bound endpoint, path style or
// virtual hosted, without the SDK's rules engine (see awsconf.Endpoint).
type s3Endpoint struct {
	base          string
	virtualHosted bool
}

func (e s3Endpoint) ResolveEndpoint(_ context.Context, p s3.EndpointParameters) (smithyendpoints.Endpoint, error) {
	u, err := publicBase(e.base, aws.ToString(p.Bucket), e.virtualHosted)
	if err != nil {
		return smithyendpoints.Endpoint{}, err
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return smithyendpoints.Endpoint{URI: *u}, nil
}

// publicBase is the URL of a public bucket's objects: endpoint/bucket/, or
// bucket.endpoint-host/ when virtual hosted.
func publicBase(endpoint, bucket string, virtualHosted bool) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	if virtualHosted {
		u.Host = bucket + "." + u.Host
		u.Path = strings.TrimSuffix(u.Path, "/") + "/"
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + bucket + "/"
	}
	return u, nil
}

// defaultPresignExpiry is how long a presigned_redirect URL stays valid
// unless the binding says otherwise (the AWS SDK's own default).
const defaultPresignExpiry = 15 * time.Minute

func newS3Bucket(b *config.Bucket, specName string, tokens *yc.Tokens, account *yc.TokenSource, rt http.RoundTripper) (*s3Bucket, error) {
	cfg, _, err := awsconf.Config(b.Region, b.Endpoint, b.Credentials, tokens, account, rt) // anonymous: a public bucket
	if err != nil {
		return nil, err
	}
	options := func(endpoint string) func(o *s3.Options) {
		return func(o *s3.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			o.EndpointResolverV2 = s3Endpoint{base: endpoint, virtualHosted: b.VirtualHosted}
			o.UsePathStyle = !b.VirtualHosted
			// Newer SDKs add checksums that S3-compatible servers reject.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}
	name := b.Name
	if name == "" {
		name = specName
	}
	bucket := &s3Bucket{client: s3.NewFromConfig(cfg, options(b.Endpoint)), name: name}
	// An IAM token cannot presign (a URL carries no header); static keys
	// sign the URL, and an anonymous (public) bucket needs no signature.
	byToken := b.HasKey() || account != nil && !b.HasStaticKeys()
	if _, anonymous := cfg.Credentials.(aws.AnonymousCredentials); anonymous && !byToken {
		public := b.PresignEndpoint
		if public == "" {
			public = b.Endpoint
		}
		bucket.publicURL, err = publicBase(public, name, b.VirtualHosted)
		if err != nil {
			return nil, err
		}
	} else if !byToken {
		signer := bucket.client
		if b.PresignEndpoint != "" {
			signer = s3.NewFromConfig(cfg, options(b.PresignEndpoint))
		}
		expiry := defaultPresignExpiry
		if b.PresignExpiry != nil {
			expiry = time.Duration(*b.PresignExpiry)
		}
		bucket.presign = s3.NewPresignClient(signer, s3.WithPresignExpires(expiry))
	}
	return bucket, nil
}

// exists reports whether key names an object (a HEAD request).
func (b *s3Bucket) exists(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, nil
	}
	_, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)})
	if err == nil {
		return true, nil
	}
	if missing(err) {
		return false, nil
	}
	return false, &errUpstream{err}
}

// redirect answers 302 to a presigned URL of key (presigned_redirect): the
// client downloads from the server itself, Range and conditional headers
// included.
func (b *s3Bucket) redirect(ctx context.Context, w http.ResponseWriter, r *http.Request, key string) error {
	if dotSegment(key) {
		// A client resolves /bucket/../other/x to /other/x: the URL
		// would lead out of the bucket.
		return errNoObject
	}
	var location string
	if b.publicURL != nil {
		u := *b.publicURL
		u.Path += key
		u.RawPath = ""
		location = u.String()
	} else {
		in := &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)}
		var signed *v4.PresignedHTTPRequest
		var err error
		if r.Method == http.MethodHead {
			signed, err = b.presign.PresignHeadObject(ctx, &s3.HeadObjectInput{Bucket: in.Bucket, Key: in.Key})
		} else {
			signed, err = b.presign.PresignGetObject(ctx, in)
		}
		if err != nil {
			return &errUpstream{err}
		}
		location = signed.URL
	}
	h := w.Header()
	h.Set("Location", location)
	// The URL expires: neither the browser nor a proxy may keep it.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusFound)
	return nil
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
		case http.StatusRequestedRangeNotSatisfiable:
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return nil
		}
	}
	if missing(err) {
		return errNoObject
	}
	return &errUpstream{err}
}

// dotSegment reports whether a key has a "." or ".." path segment.
func dotSegment(key string) bool {
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// missing reports whether an S3 error means there is no object to serve: a
// missing key, or (as S3 answers without list permission) a forbidden one.
func missing(err error) bool {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusNotFound || re.HTTPStatusCode() == http.StatusForbidden) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NotFound")
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
