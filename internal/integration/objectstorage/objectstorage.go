// Package objectstorage is the object_storage integration (digest §3.4):
// it serves the object a (substituted) key names from the bucket bound in
// apigw.yaml, with the error_object / default_object fallbacks. A bucket is
// a local directory or an S3-compatible endpoint; for the latter,
// presigned_redirect answers with a redirect to a presigned URL instead of
// streaming.
package objectstorage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

type settings struct {
	Type              string    `yaml:"type"`
	Bucket            string    `yaml:"bucket"`
	Object            string    `yaml:"object"`
	ErrorObject       yaml.Node `yaml:"error_object"`
	DefaultObject     string    `yaml:"default_object"`
	ServiceAccountID  string    `yaml:"service_account_id"`
	PresignedRedirect bool      `yaml:"presigned_redirect"`
}

// Integration is a compiled object_storage integration.
type Integration struct {
	bucket      string
	dir         string    // a directory bucket, or
	s3          *s3Bucket // an S3-compatible one
	object      params.Template
	defaultObj  *params.Template
	errorObj    *params.Template
	errorStatus int  // 0: keep the original 404
	redirect    bool // presigned_redirect: answer 302 to a presigned URL
}

var (
	_ integration.Handler     = (*Integration)(nil)
	_ integration.IgnoresBody = (*Integration)(nil)
)

// IgnoresBody: a bucket is read, never written.
func (*Integration) IgnoresBody() {}

// New decodes an object_storage integration and resolves its bucket.
func New(b *integration.Build, n *yaml.Node, p string) (integration.Handler, yamlx.List) {
	var s settings
	errs := yamlx.DecodeExtension(n, &s, p)
	if errs.Err() != nil {
		return nil, errs
	}
	it := &Integration{bucket: s.Bucket, object: params.Compile(s.Object, b.Declared)}
	if s.Bucket == "" {
		errs.Errorf(n, p, "object_storage integration needs bucket")
	}
	if s.Object == "" {
		errs.Errorf(n, p, "object_storage integration needs object (the key, such as '{file}')")
	}
	if s.DefaultObject != "" {
		t := params.Compile(s.DefaultObject, b.Declared)
		it.defaultObj = &t
	}
	switch eo := &s.ErrorObject; {
	case eo.Kind == 0:
	case eo.Kind == yaml.ScalarNode:
		t := params.Compile(eo.Value, b.Declared)
		it.errorObj = &t
	case eo.Kind == yaml.MappingNode:
		var form struct {
			Object     string `yaml:"object"`
			StatusCode int    `yaml:"statusCode"`
		}
		errs.Add(yamlx.DecodeExtension(eo, &form, yamlx.Join(p, "error_object"))...)
		if form.Object == "" {
			errs.Errorf(eo, yamlx.Join(p, "error_object"), "needs object")
		}
		if form.StatusCode != 0 && (form.StatusCode < 100 || form.StatusCode > 599) {
			errs.Errorf(yamlx.Get(eo, "statusCode"), yamlx.Join(p, "error_object.statusCode"), "must be an HTTP status (100-599)")
		}
		t := params.Compile(form.Object, b.Declared)
		it.errorObj, it.errorStatus = &t, form.StatusCode
	default:
		errs.Errorf(eo, yamlx.Join(p, "error_object"), "must be an object key or {object, statusCode}")
	}
	if len(errs.Errors()) > 0 {
		return nil, errs
	}
	bucket := b.Bindings.ObjectStorage.Buckets[s.Bucket]
	switch {
	case bucket == nil && b.Bindings.AllowUnbound("buckets", s.Bucket, ""):
		return b.Unbound("buckets", s.Bucket, ""), errs
	case bucket == nil:
		errs.Errorf(yamlx.Get(n, "bucket"), yamlx.Join(p, "bucket"), "bucket %s is not bound: add object_storage.buckets.%s to the bindings file, with dir (a local directory) or endpoint and keys (an S3-compatible server)", s.Bucket, s.Bucket)
		return nil, errs
	case bucket.Endpoint != "":
		account, err := b.BoundAccount(s.ServiceAccountID)
		if err != nil {
			errs.Errorf(yamlx.Get(n, "bucket"), yamlx.Join(p, "bucket"), "%v", err)
			return nil, errs
		}
		s3b, err := newS3Bucket(bucket, s.Bucket, b.Deps.Tokens, account, b.Deps.Transport(10*time.Second))
		if err != nil {
			errs.Errorf(yamlx.Get(n, "bucket"), yamlx.Join(p, "bucket"), "bucket %s: %v", s.Bucket, err)
			return nil, errs
		}
		it.s3 = s3b
		if s.PresignedRedirect {
			if !s3b.canRedirect() {
				errs.Warnf(yamlx.Get(n, "presigned_redirect"), yamlx.Join(p, "presigned_redirect"), "bucket %s signs in with a service account key, whose IAM token cannot presign a URL; objects are streamed (bind static keys to redirect)", s.Bucket)
			} else {
				it.redirect = true
			}
		}
		return it, errs
	case s.PresignedRedirect:
		errs.Warnf(yamlx.Get(n, "presigned_redirect"), yamlx.Join(p, "presigned_redirect"), "presigned_redirect has no meaning for a bucket served from a directory; objects are streamed")
	}
	if !bucket.DirExists() {
		errs.Errorf(yamlx.Get(n, "bucket"), yamlx.Join(p, "bucket"), "bucket %s: directory %s does not exist", s.Bucket, bucket.Dir)
		return nil, errs
	}
	it.dir = bucket.Dir
	return it, errs
}

// errNoObject is a key with no object behind it (including keys that are
// not plain object names in the directory: never a way out of it).
var errNoObject = errors.New("no such object")

// open finds an object. A key is a path inside the bucket's directory: one
// that would leave it (.., an absolute path, a symlink pointing out) or
// names a directory is no object, as in S3.
func (it *Integration) open(key string) (*os.File, fs.FileInfo, error) {
	key = strings.TrimPrefix(key, "/")
	if key == "" || strings.ContainsRune(key, 0) || !filepath.IsLocal(filepath.FromSlash(key)) || strings.Contains(key, "\\") {
		return nil, nil, errNoObject
	}
	f, err := os.OpenInRoot(it.dir, filepath.FromSlash(key))
	if err != nil {
		return nil, nil, errNoObject
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, errNoObject
	}
	return f, st, nil
}

// Serve streams the object (Range, If-None-Match, If-Modified-Since and
// HEAD handled), or the fallback objects, or 404.
func (it *Integration) Serve(w http.ResponseWriter, r *http.Request, c *integration.Call) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return httperr.New(http.StatusMethodNotAllowed, "object storage answers GET and HEAD")
	}
	key := it.object.Expand(c.Params, nil)
	if it.s3 != nil {
		return it.serveS3(w, r, c, key)
	}
	f, st, err := it.open(key)
	status := http.StatusOK
	if err != nil && it.defaultObj != nil {
		f, st, err = it.open(it.defaultObj.Expand(c.Params, nil))
	}
	if err != nil && it.errorObj != nil {
		f, st, err = it.open(it.errorObj.Expand(c.Params, nil))
		status = http.StatusNotFound
		if it.errorStatus != 0 {
			status = it.errorStatus
		}
	}
	if err != nil {
		return httperr.New(http.StatusNotFound, fmt.Sprintf("object %q not found in bucket %s", key, it.bucket))
	}
	defer f.Close()
	h := w.Header()
	h.Set("ETag", fmt.Sprintf(`"%x-%x"`, st.ModTime().UnixNano(), st.Size()))
	if status != http.StatusOK {
		// A fallback with its own status is sent whole, without Range or
		// conditional handling (those describe the object asked for).
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", contentType(st.Name()))
		}
		h.Set("Content-Length", strconv.FormatInt(st.Size(), 10))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			buf := make([]byte, 32<<10)
			for {
				n, rerr := f.Read(buf)
				if n > 0 {
					if _, werr := w.Write(buf[:n]); werr != nil {
						return nil
					}
				}
				if rerr != nil {
					return nil
				}
			}
		}
		return nil
	}
	http.ServeContent(w, r, st.Name(), st.ModTime(), f)
	return nil
}

// serveS3 tries the key, then default_object, then error_object.
func (it *Integration) serveS3(w http.ResponseWriter, r *http.Request, c *integration.Call, key string) error {
	ctx := r.Context()
	var err error
	if it.redirect {
		err = it.redirectS3(w, r, c, key)
	} else {
		err = it.s3.serve(ctx, w, r, key, http.StatusOK)
		if errors.Is(err, errNoObject) && it.defaultObj != nil {
			err = it.s3.serve(ctx, w, r, it.defaultObj.Expand(c.Params, nil), http.StatusOK)
		}
	}
	if errors.Is(err, errNoObject) && it.errorObj != nil {
		status := http.StatusNotFound
		if it.errorStatus != 0 {
			status = it.errorStatus
		}
		err = it.s3.serve(ctx, w, r, it.errorObj.Expand(c.Params, nil), status)
	}
	var up *errUpstream
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNoObject):
		return httperr.New(http.StatusNotFound, fmt.Sprintf("object %q not found in bucket %s", key, it.bucket))
	case errors.As(err, &up) && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return httperr.Wrap(http.StatusGatewayTimeout, "object storage did not answer in time", err)
	default:
		return httperr.Wrap(http.StatusBadGateway, "object storage is unavailable", err)
	}
}

// redirectS3 answers presigned_redirect: a 302 to a presigned URL of the
// key, or of default_object when the key is missing. Without fallbacks the
// key is not looked up (the redirect costs no request to the server); with
// them, a HEAD request finds which object exists. error_object is streamed,
// since a redirect cannot carry its status.
func (it *Integration) redirectS3(w http.ResponseWriter, r *http.Request, c *integration.Call, key string) error {
	ctx := r.Context()
	if it.defaultObj == nil && it.errorObj == nil {
		if key == "" {
			return errNoObject
		}
		return it.s3.redirect(ctx, w, r, key)
	}
	candidates := []string{key}
	if it.defaultObj != nil {
		candidates = append(candidates, it.defaultObj.Expand(c.Params, nil))
	}
	for _, k := range candidates {
		ok, err := it.s3.exists(ctx, k)
		if err != nil {
			return err
		}
		if ok {
			return it.s3.redirect(ctx, w, r, k)
		}
	}
	return errNoObject
}

func contentType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
