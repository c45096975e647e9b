package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// ObjectStorage binds buckets (object_storage integrations).
type ObjectStorage struct {
	Buckets map[string]*Bucket `yaml:"buckets"`
}

// Bucket is where a bucket's objects are: a local directory (Dir, the
// offline default) or an S3-compatible endpoint.
type Bucket struct {
	Dir string `yaml:"dir"`
	// Endpoint is an S3-compatible endpoint, such as
	// https://storage.yandexcloud.net or http://127.0.0.1:9000.
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"` // default ru-central1
	// Name is the bucket's name at the endpoint (default: the spec's).
	Name string `yaml:"name"`
	// Credentials: static keys, a service account key, else the AWS_*
	// environment, else anonymous.
	Credentials `yaml:",inline"`
	// VirtualHosted addresses the bucket as <name>.<endpoint host>
	// instead of <endpoint>/<name> (path style, the default: it works with
	// every S3-compatible server).
	VirtualHosted bool `yaml:"virtual_hosted"`
	// PresignExpiry is how long the URLs of presigned_redirect stay valid
	// (default 15 minutes, at most 7 days: SigV4's limit).
	PresignExpiry *Duration `yaml:"presign_expiry"`
	// PresignEndpoint is the endpoint clients reach the server at, when it
	// differs from Endpoint (which the gateway uses): presigned_redirect's
	// URLs point there. Default: Endpoint.
	PresignEndpoint string `yaml:"presign_endpoint"`

	Node *yaml.Node `yaml:"-"`
}

// DefaultStorageEndpoint is Yandex Object Storage's S3-compatible API: the
// endpoint of a bucket bound with neither dir nor endpoint.
const DefaultStorageEndpoint = "https://storage.yandexcloud.net"

// LogValue keeps the secret key out of logs.
func (b Bucket) LogValue() slog.Value {
	return slog.GroupValue(slog.String("dir", b.Dir), slog.String("endpoint", b.Endpoint), slog.String("secret_access_key", "REDACTED"))
}

func checkBuckets(root *yaml.Node, os_ *ObjectStorage, errs *yamlx.List) {
	section := yamlx.Get(yamlx.Get(root, "object_storage"), "buckets")
	for name, b := range os_.Buckets {
		path := yamlx.Join("object_storage.buckets", name)
		n := yamlx.Get(section, name)
		if b == nil {
			b = &Bucket{}
			os_.Buckets[name] = b
		}
		b.Node = n
		switch {
		case b.Dir != "" && b.Endpoint != "":
			errs.Errorf(n, path, "give dir (a local directory) or endpoint (an S3-compatible server), not both")
		case b.Dir != "":
			if b.AccessKeyID != "" || b.HasKey() {
				errs.Errorf(n, path, "a dir bucket takes no credentials: they sign requests to an endpoint")
			}
		default:
			if b.Endpoint == "" {
				b.Endpoint = DefaultStorageEndpoint
			}
			checkURL(n, path, "endpoint", b.Endpoint, errs)
			checkCredentials(n, path, &b.Credentials, errs)
			if b.PresignEndpoint != "" {
				checkURL(n, path, "presign_endpoint", b.PresignEndpoint, errs)
			}
			if b.PresignExpiry != nil && (*b.PresignExpiry < Duration(time.Second) || *b.PresignExpiry > Duration(7*24*time.Hour)) {
				errs.Errorf(yamlx.Get(n, "presign_expiry"), yamlx.Join(path, "presign_expiry"), "must be between 1s and 7 days (168h)")
			}
			if b.Region == "" {
				b.Region = "ru-central1"
			}
		}
	}
}

// resolveBucketDirs makes bucket directories (and key files) relative to
// the bindings file.
func resolveBucketDirs(os_ *ObjectStorage, file string) {
	for _, b := range os_.Buckets {
		if b == nil {
			continue
		}
		b.resolve(filepath.Dir(file))
		if b.Dir == "" || filepath.IsAbs(b.Dir) {
			continue
		}
		b.Dir = filepath.Join(filepath.Dir(file), b.Dir)
		if abs, err := filepath.Abs(b.Dir); err == nil {
			b.Dir = abs
		}
	}
}

// DirExists reports whether the bucket's directory can be served.
func (b *Bucket) DirExists() bool {
	st, err := os.Stat(b.Dir)
	return err == nil && st.IsDir()
}
