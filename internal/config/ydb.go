package config

import (
	"log/slog"
	"strings"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// YDB binds a database of a cloud_ydb integration to a DynamoDB-compatible
// endpoint. Keyed by the spec's database path, or "default".
type YDB struct {
	// Endpoint is the document API (default: Yandex's, for the database).
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"` // default ru-central1
	// Credentials: static keys, a service account key, else the AWS_*
	// environment, else anonymous.
	Credentials `yaml:",inline"`

	Node *yaml.Node `yaml:"-"`
}

// DefaultYDBEndpoint is the Document API of a YDB database path.
func DefaultYDBEndpoint(database string) string {
	return "https://docapi.serverless.yandexcloud.net/" + strings.TrimPrefix(database, "/")
}

// LogValue keeps the secret key out of logs.
func (y YDB) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", y.Endpoint), slog.String("secret_access_key", "REDACTED"))
}

func checkYDB(root *yaml.Node, ys map[string]*YDB, errs *yamlx.List) {
	section := yamlx.Get(root, "ydb")
	for key, y := range ys {
		n := yamlx.Get(section, key)
		if y == nil {
			y = &YDB{}
			ys[key] = y
		}
		y.Node = n
		if y.Region == "" {
			y.Region = "ru-central1"
		}
		if y.Endpoint != "" {
			checkURL(n, yamlx.Join("ydb", key), "endpoint", y.Endpoint, errs)
		}
		checkCredentials(n, yamlx.Join("ydb", key), &y.Credentials, errs)
	}
}
