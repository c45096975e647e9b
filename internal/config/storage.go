package config

import (
	"log/slog"
	"os"
	"path/filepath"

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
	// Static keys; when empty, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	// VirtualHosted addresses the bucket as <name>.<endpoint host>
	// instead of <endpoint>/<name> (path style, the default: it works with
	// every S3-compatible server).
	VirtualHosted bool `yaml:"virtual_hosted"`

	Node *yaml.Node `yaml:"-"`
}

// LogValue keeps the secret key out of logs.
func (b Bucket) LogValue() slog.Value {
	return slog.GroupValue(slog.String("dir", b.Dir), slog.String("endpoint", b.Endpoint), slog.String("secret_access_key", "REDACTED"))
}

func checkBuckets(root *yaml.Node, os_ *ObjectStorage, errs *yamlx.List) {
	section := yamlx.Get(yamlx.Get(root, "object_storage"), "buckets")
	for name, b := range os_.Buckets {
		path := yamlx.Join("object_storage.buckets", name)
		n := yamlx.Get(section, name)
		switch {
		case b == nil || (b.Dir == "" && b.Endpoint == ""):
			errs.Errorf(n, path, "needs dir (a local directory) or endpoint (an S3-compatible server)")
		case b.Dir != "" && b.Endpoint != "":
			errs.Errorf(n, path, "give dir or endpoint, not both")
		default:
			if b.Endpoint != "" {
				checkURL(n, path, "endpoint", b.Endpoint, errs)
				if b.Region == "" {
					b.Region = "ru-central1"
				}
			}
			b.Node = n
		}
	}
}

// resolveBucketDirs makes bucket directories relative to the bindings file.
func resolveBucketDirs(os_ *ObjectStorage, file string) {
	for _, b := range os_.Buckets {
		if b == nil || b.Dir == "" || filepath.IsAbs(b.Dir) {
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
