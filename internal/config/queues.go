package config

import (
	"log/slog"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Queue binds a queue_url of a cloud_ymq integration to an SQS-compatible
// endpoint. Keyed by the spec's queue_url, or "default".
type Queue struct {
	// Endpoint is the SQS-compatible API (default: Yandex Message Queue's).
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"` // default ru-central1
	// URL is the queue's URL at the endpoint (default: the spec's queue_url).
	URL string `yaml:"url"`
	// Credentials: static keys, a service account key, else the AWS_*
	// environment, else anonymous.
	Credentials `yaml:",inline"`

	Node *yaml.Node `yaml:"-"`
}

// DefaultQueueEndpoint is Yandex Message Queue's SQS-compatible API.
const DefaultQueueEndpoint = "https://message-queue.api.cloud.yandex.net"

// LogValue keeps the secret key out of logs.
func (q Queue) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", q.Endpoint), slog.String("url", q.URL), slog.String("secret_access_key", "REDACTED"))
}

func checkQueues(root *yaml.Node, qs map[string]*Queue, errs *yamlx.List) {
	section := yamlx.Get(root, "queues")
	for key, q := range qs {
		n := yamlx.Get(section, key)
		path := yamlx.Join("queues", key)
		if q == nil {
			q = &Queue{}
			qs[key] = q
		}
		q.Node = n
		if q.Endpoint == "" {
			q.Endpoint = DefaultQueueEndpoint
		}
		if q.Region == "" {
			q.Region = "ru-central1"
		}
		checkURL(n, path, "endpoint", q.Endpoint, errs)
		checkCredentials(n, path, &q.Credentials, errs)
	}
}
