// Package ymq is the cloud_ymq integration (digest §3.8): SendMessage of
// the request body (or of the whole request as the 1.0 event) to an
// SQS-compatible queue bound in apigw.yaml.
package ymq

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw/apigw/internal/awsconf"
	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/functions"
	"github.com/apigw/apigw/internal/httperr"
	"github.com/apigw/apigw/internal/integration"
	"github.com/apigw/apigw/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

type settings struct {
	Type              string `yaml:"type"`
	Action            string `yaml:"action"`
	QueueURL          string `yaml:"queue_url"`
	FolderID          string `yaml:"folder_id"`
	DelaySeconds      *int   `yaml:"delay_seconds"`
	PayloadFormatType string `yaml:"payload_format_type"`
	ServiceAccountID  string `yaml:"service_account_id"`
}

// Integration is a compiled cloud_ymq integration.
type Integration struct {
	client    *sqs.Client
	url       string
	delay     int32
	request   bool // payload_format_type: request
	gatewayID string
}

var _ integration.Handler = (*Integration)(nil)

// New decodes a cloud_ymq integration and resolves its queue.
func New(b *integration.Build, n *yaml.Node, p string) (integration.Handler, yamlx.List) {
	var s settings
	errs := yamlx.DecodeExtension(n, &s, p)
	if errs.Err() != nil {
		return nil, errs
	}
	if s.Action != "SendMessage" {
		errs.Errorf(yamlx.Get(n, "action"), yamlx.Join(p, "action"), "action must be SendMessage (the only one documented), not %q", s.Action)
	}
	if s.QueueURL == "" {
		errs.Errorf(n, p, "cloud_ymq integration needs queue_url")
	}
	it := &Integration{gatewayID: b.Bindings.GatewayID}
	if s.DelaySeconds != nil {
		if *s.DelaySeconds < 0 || *s.DelaySeconds > 900 {
			errs.Errorf(yamlx.Get(n, "delay_seconds"), yamlx.Join(p, "delay_seconds"), "must be 0 to 900 seconds")
		}
		it.delay = int32(*s.DelaySeconds)
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
	q := b.Bindings.Queues[s.QueueURL]
	if q == nil {
		q = b.Bindings.Queues["default"]
	}
	if q == nil && b.Bindings.MockTarget("queues", s.QueueURL, "") {
		return b.Unbound("queues", s.QueueURL, ""), errs
	}
	if q == nil && !b.Bindings.SpecOnly {
		errs.Errorf(yamlx.Get(n, "queue_url"), yamlx.Join(p, "queue_url"), "queue %s is not bound: add it (or default) under queues: in the bindings file, with the endpoint and keys", s.QueueURL)
		return nil, errs
	}
	if q == nil {
		q = &config.Queue{Endpoint: config.DefaultQueueEndpoint, Region: "ru-central1"}
	}
	it.url = q.URL
	if it.url == "" {
		it.url = s.QueueURL
	}
	account, err := b.BoundAccount(s.ServiceAccountID)
	if err != nil {
		errs.Errorf(yamlx.Get(n, "queue_url"), yamlx.Join(p, "queue_url"), "%v", err)
		return nil, errs
	}
	cfg, u, err := awsconf.Config(q.Region, q.Endpoint, q.Credentials, b.Deps.Tokens, account, b.Deps.Transport(10*time.Second))
	if err != nil {
		errs.Errorf(yamlx.Get(n, "queue_url"), yamlx.Join(p, "queue_url"), "queue %s: %v", s.QueueURL, err)
		return nil, errs
	}
	it.client = sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.BaseEndpoint, o.EndpointResolverV2 = aws.String(q.Endpoint), awsconf.Endpoint[sqs.EndpointParameters]{URL: u}
	})
	return it, errs
}

// Serve sends the message and answers the SendMessage result.
func (it *Integration) Serve(w http.ResponseWriter, r *http.Request, c *integration.Call) error {
	body, err := integration.ReadBody(r)
	if err != nil {
		return err
	}
	var msg string
	if it.request {
		event, err := c.RequestEvent(r, body, it.gatewayID)
		if err != nil {
			return err
		}
		msg = string(event)
	} else {
		// JSON (any parameters) is written verbatim; anything else Base64.
		msg, _ = functions.EncodeBody(r.Header.Get("Content-Type"), body)
	}
	if msg == "" {
		return httperr.New(http.StatusBadRequest, "the message would be empty: a queue message needs a body")
	}
	out, err := it.client.SendMessage(r.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(it.url), MessageBody: aws.String(msg), DelaySeconds: it.delay})
	if err != nil {
		return httperr.Wrap(http.StatusBadGateway, "the queue did not accept the message", err)
	}
	res := map[string]string{"MessageId": aws.ToString(out.MessageId), "MD5OfMessageBody": aws.ToString(out.MD5OfMessageBody)}
	if res["MD5OfMessageBody"] == "" {
		sum := md5.Sum([]byte(msg))
		res["MD5OfMessageBody"] = hex.EncodeToString(sum[:])
	}
	b, _ := json.Marshal(res)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}
