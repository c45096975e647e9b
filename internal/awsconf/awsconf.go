// Package awsconf builds the AWS SDK configuration that the S3-, SQS-,
// Kinesis- and DynamoDB-compatible integrations share: a region, static
// keys (from the bindings, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
// else anonymous), and the gateway's pooled upstream transport.
package awsconf

import (
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Config returns the SDK configuration for one binding.
func Config(region, accessKeyID, secretAccessKey string, rt http.RoundTripper) aws.Config {
	if accessKeyID == "" && secretAccessKey == "" {
		accessKeyID, secretAccessKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	cfg := aws.Config{Region: region, HTTPClient: &http.Client{Transport: rt}}
	if accessKeyID != "" || secretAccessKey != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(accessKeyID, secretAccessKey, "")
	} else {
		cfg.Credentials = aws.AnonymousCredentials{}
	}
	return cfg
}
