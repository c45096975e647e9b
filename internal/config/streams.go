package config

import (
	"log/slog"

	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Stream binds a stream_name of a cloud_datastreams integration to a
// Kinesis-compatible endpoint. Keyed by the spec's stream_name, or
// "default".
type Stream struct {
	// Endpoint is the Kinesis-compatible API (default: Yandex Data Streams').
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"` // default ru-central1
	// Name is the stream's name at the endpoint (default: the spec's).
	Name string `yaml:"name"`
	// Credentials: static keys, a service account key, else the AWS_*
	// environment, else anonymous.
	Credentials `yaml:",inline"`

	Node *yaml.Node `yaml:"-"`
}

// DefaultStreamEndpoint is Yandex Data Streams' Kinesis-compatible API.
const DefaultStreamEndpoint = "https://yds.serverless.yandexcloud.net"

// LogValue keeps the secret key out of logs.
func (s Stream) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", s.Endpoint), slog.String("name", s.Name), slog.String("secret_access_key", "REDACTED"))
}

func checkStreams(root *yaml.Node, ss map[string]*Stream, errs *yamlx.List) {
	section := yamlx.Get(root, "streams")
	for key, s := range ss {
		n := yamlx.Get(section, key)
		if s == nil {
			s = &Stream{}
			ss[key] = s
		}
		s.Node = n
		if s.Endpoint == "" {
			s.Endpoint = DefaultStreamEndpoint
		}
		if s.Region == "" {
			s.Region = "ru-central1"
		}
		checkURL(n, yamlx.Join("streams", key), "endpoint", s.Endpoint, errs)
		checkCredentials(n, yamlx.Join("streams", key), &s.Credentials, errs)
	}
}
