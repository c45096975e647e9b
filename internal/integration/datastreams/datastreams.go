// Package datastreams is the cloud_datastreams integration (digest §3.7):
// PutRecord of the request body (or of the whole request as the 1.0 event)
// to a Kinesis-compatible stream bound in apigw.yaml.
package datastreams

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/apigw/apigw/internal/awsconf"
	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/params"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

type settings struct {
	Type              string `yaml:"type"`
	Action            string `yaml:"action"`
	StreamName        string `yaml:"stream_name"`
	PartitionKey      string `yaml:"partition_key"`
	PayloadFormatType string `yaml:"payload_format_type"`
	ServiceAccountID  string `yaml:"service_account_id"`
}

// Integration is a compiled cloud_datastreams integration.
type Integration struct {
	client       *kinesis.Client
	stream       string
	partitionKey *params.Template // nil: a random key (a random shard)
	request      bool
	gatewayID    string
}

var _ integration.Handler = (*Integration)(nil)

// New decodes a cloud_datastreams integration and resolves its stream.
func New(b *integration.Build, n *yaml.Node, p string) (integration.Handler, yamlx.List) {
	var s settings
	errs := yamlx.DecodeExtension(n, &s, p)
	if errs.Err() != nil {
		return nil, errs
	}
	if s.Action != "PutRecord" {
		errs.Errorf(yamlx.Get(n, "action"), yamlx.Join(p, "action"), "action must be PutRecord (the only one documented), not %q", s.Action)
	}
	if s.StreamName == "" {
		errs.Errorf(n, p, "cloud_datastreams integration needs stream_name")
	}
	it := &Integration{gatewayID: b.Bindings.GatewayID}
	if s.PartitionKey != "" {
		t := params.Compile(s.PartitionKey, b.Declared)
		it.partitionKey = &t
	}
	switch s.PayloadFormatType {
	case "", "body":
	case "request":
		it.request = true
	default:
		errs.Errorf(yamlx.Get(n, "payload_format_type"), yamlx.Join(p, "payload_format_type"), "must be body or request, not %q", s.PayloadFormatType)
	}
	if len(errs.Errors()) > 0 {
		return nil, errs
	}
	st := b.Bindings.Streams[s.StreamName]
	if st == nil {
		st = b.Bindings.Streams["default"]
	}
	if st == nil && b.Bindings.MockTarget("streams", s.StreamName, "") {
		return b.Unbound("streams", s.StreamName, ""), errs
	}
	if st == nil && !b.Bindings.SpecOnly {
		errs.Errorf(yamlx.Get(n, "stream_name"), yamlx.Join(p, "stream_name"), "stream %s is not bound: add it (or default) under streams: in the bindings file, with the endpoint and keys", s.StreamName)
		return nil, errs
	}
	if st == nil {
		st = &config.Stream{Endpoint: config.DefaultStreamEndpoint, Region: "ru-central1"}
	}
	it.stream = st.Name
	if it.stream == "" {
		it.stream = s.StreamName
	}
	account, err := b.BoundAccount(s.ServiceAccountID)
	if err != nil {
		errs.Errorf(yamlx.Get(n, "stream_name"), yamlx.Join(p, "stream_name"), "%v", err)
		return nil, errs
	}
	cfg, u, err := awsconf.Config(st.Region, st.Endpoint, st.Credentials, b.Deps.Tokens, account, b.Deps.Transport(10*time.Second))
	if err != nil {
		errs.Errorf(yamlx.Get(n, "stream_name"), yamlx.Join(p, "stream_name"), "stream %s: %v", s.StreamName, err)
		return nil, errs
	}
	it.client = kinesis.NewFromConfig(cfg, func(o *kinesis.Options) {
		o.BaseEndpoint, o.EndpointResolverV2 = aws.String(st.Endpoint), awsconf.Endpoint[kinesis.EndpointParameters]{URL: u}
	})
	return it, errs
}

// Serve puts the record and answers the PutRecord result.
func (it *Integration) Serve(w http.ResponseWriter, r *http.Request, c *integration.Call) error {
	body, err := integration.ReadBody(r)
	if err != nil {
		return err
	}
	data := body
	if it.request {
		if data, err = c.RequestEvent(r, body, it.gatewayID); err != nil {
			return err
		}
	}
	if len(data) == 0 {
		return httperr.New(http.StatusBadRequest, "the record would be empty: a stream record needs a body")
	}
	key := randomKey() // no partition_key: a random shard
	if it.partitionKey != nil {
		if key = it.partitionKey.Expand(c.Params, nil); key == "" {
			return httperr.New(http.StatusBadRequest, "the partition key is empty for this request")
		}
	}
	out, err := it.client.PutRecord(r.Context(), &kinesis.PutRecordInput{StreamName: aws.String(it.stream), Data: data, PartitionKey: aws.String(key)})
	if err != nil {
		return httperr.Wrap(http.StatusBadGateway, "the stream did not accept the record", err)
	}
	b, _ := json.Marshal(map[string]string{"ShardId": aws.ToString(out.ShardId), "SequenceNumber": aws.ToString(out.SequenceNumber)})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

func randomKey() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
