// Package awsconf builds the AWS SDK configuration that the S3-, SQS-,
// Kinesis- and DynamoDB-compatible integrations share: a region, the
// binding's credentials and the gateway's pooled upstream transport.
//
// Credentials, in order: static keys from the bindings (SigV4); a service
// account key, whose IAM token goes in X-YaCloud-SubjectToken with no
// signature (what Yandex Cloud's Object Storage, Message Queue, Data
// Streams and Document API accept); the service account the spec names,
// when it is bound (service_accounts:), likewise; AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY from the environment; else anonymous.
package awsconf

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/apigw/apigw/internal/config"
	"github.com/apigw/apigw/internal/yc"
)

// SubjectTokenHeader carries an IAM token to Yandex Cloud's AWS-compatible
// APIs in place of a SigV4 signature.
const SubjectTokenHeader = "X-YaCloud-SubjectToken"

// Config returns the SDK configuration for one binding and its endpoint,
// parsed (for Endpoint). A service account key is read now (an error names
// what is wrong with it); its tokens come from the shared cache tokens.
// account is the spec's service account (nil: none is bound), used when the
// binding names no credentials of its own.
func Config(region, endpoint string, c config.Credentials, tokens *yc.Tokens, account *yc.TokenSource, rt http.RoundTripper) (aws.Config, url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return aws.Config{}, url.URL{}, fmt.Errorf("endpoint: %w", err)
	}
	cfg := aws.Config{Region: region, HTTPClient: &http.Client{Transport: rt}}
	if ts := account; c.HasKey() || ts != nil && !c.HasStaticKeys() {
		if c.HasKey() {
			if ts, err = tokens.Source(c.ServiceAccountKeyFile, c.ServiceAccountKeyEnv, c.IAMEndpoint); err != nil {
				return aws.Config{}, url.URL{}, err
			}
		}
		cfg.Credentials = aws.AnonymousCredentials{} // no signature: the token is the credential
		cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
			return stack.Finalize.Add(subjectToken{ts.Token}, middleware.After)
		})
		return cfg, *u, nil
	}
	ak, sk := c.AccessKeyID, c.SecretAccessKey
	if ak == "" && sk == "" {
		ak, sk = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	if ak != "" || sk != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(ak, sk, "")
	} else {
		cfg.Credentials = aws.AnonymousCredentials{}
	}
	return cfg, *u, nil
}

// subjectToken sets X-YaCloud-SubjectToken on every attempt, so that a
// retry after a token refresh carries the new token.
type subjectToken struct {
	token func(context.Context) (string, error)
}

func (subjectToken) ID() string { return "YandexCloudSubjectToken" }

func (m subjectToken) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	req, ok := in.Request.(*smithyhttp.Request)
	if !ok {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected request type %T", in.Request)
	}
	token, err := m.token(ctx)
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("service account IAM token: %w", err)
	}
	req.Header.Set(SubjectTokenHeader, token)
	return next.HandleFinalize(ctx, in)
}

// Endpoint resolves every request of a client to one fixed endpoint. The
// SDK's rules engine, which it replaces, compiles a partition regexp on
// every request for a region it does not know, such as ru-central1 (17 %
// of the gateway's CPU while relaying S3 objects). P is the service's
// EndpointParameters type.
type Endpoint[P any] struct{ URL url.URL }

// ResolveEndpoint implements the services' EndpointResolverV2.
func (e Endpoint[P]) ResolveEndpoint(context.Context, P) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: e.URL}, nil
}
