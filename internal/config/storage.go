package config

import (
	"os"
	"path/filepath"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// ObjectStorage binds buckets (object_storage integrations).
type ObjectStorage struct {
	Buckets map[string]*Bucket `yaml:"buckets"`
}

// Bucket is where a bucket's objects are. Dir serves them from a local
// directory (the offline default); S3-compatible endpoints come in a later
// version and are refused until then.
type Bucket struct {
	Dir string `yaml:"dir"`
	// Reserved for S3-compatible endpoints.
	Endpoint string `yaml:"endpoint"`

	Node *yaml.Node `yaml:"-"`
}

func checkBuckets(root *yaml.Node, os_ *ObjectStorage, errs *yamlx.List) {
	section := yamlx.Get(yamlx.Get(root, "object_storage"), "buckets")
	for name, b := range os_.Buckets {
		path := yamlx.Join("object_storage.buckets", name)
		n := yamlx.Get(section, name)
		switch {
		case b == nil || (b.Dir == "" && b.Endpoint == ""):
			errs.Errorf(n, path, "needs dir (a local directory)")
		case b.Endpoint != "":
			errs.Errorf(yamlx.Get(n, "endpoint"), yamlx.Join(path, "endpoint"), "S3-compatible endpoints are not supported by this apigw build yet; serve the bucket from a dir")
		default:
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
